// SPDX-License-Identifier: GPL-2.0
/*
 * softmemstat: softmem figures, module-wide and per pool, once or every N
 * seconds, as vmstat prints the kernel's.
 *
 *   softmemstat [-h] [-m] [-c] [-p PID]... [INTERVAL [COUNT]]
 *
 * Module-wide figures come from /sys/class/misc/softmem/stats/, the pools'
 * from /proc/<pid>/fdinfo/<fd> of every descriptor that is an open
 * /dev/softmem.  See softmemstat(1) and
 * Documentation/admin-guide/softmem.rst.  No library is needed: this reads
 * text files only.
 */
#define _GNU_SOURCE

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define STATS_DIR	"/sys/class/misc/softmem/stats"
#define DEV_FILE	"/sys/class/misc/softmem/dev"
#define DEVICE_PATH	"/dev/softmem"
#define MAX_NODES	1024
#define MAX_PIDS	64

static const char *prog = "softmemstat";

static struct {
	bool human;		/* -h */
	bool module_only;	/* -m */
	bool cumulative;	/* -c */
	int nr_pids;		/* -p */
	long pids[MAX_PIDS];
} opt;

/* Module-wide figures, /sys/class/misc/softmem/stats/. */
struct module_stats {
	uint64_t pools, regions, length, resident, suspended, discarded,
		 events, huge;
	int nr_nodes;
	struct {
		int node;
		uint64_t resident, suspended;
	} nodes[MAX_NODES];
};

/* One pool as one process holds it (/proc/<pid>/fdinfo/<fd>). */
struct pool_row {
	long pid;
	int fd;			/* the lowest descriptor of the pool */
	uint64_t pool;
	char comm[64];
	char policy[16];
	uint64_t regions, resident, suspended, discarded, events, huge;
};

struct pool_rows {
	struct pool_row *row;
	size_t nr, size;
};

/* The previous sample's discard counters, for deltas. */
struct prev {
	bool valid;
	uint64_t discarded, events;
	struct pool_rows pools;	/* sorted by pool number */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [-h] [-m] [-c] [-p PID]... [INTERVAL [COUNT]]\n"
		"\n"
		"Print softmem's module-wide figures, per NUMA node, and per pool of\n"
		"each process; once, or every INTERVAL seconds (COUNT times, or until\n"
		"interrupted).\n"
		"\n"
		"  -h         sizes in B, KiB, MiB, GiB, TiB, PiB, EiB, not bytes\n"
		"  -m         module-wide figures only, one line per sample\n"
		"  -c         discards since load (or pool creation) in every sample,\n"
		"             not during the interval\n"
		"  -p PID     only the pools of process PID (repeatable)\n"
		"  --help     this text\n",
		prog);
}

/* A bad command line: exit status 2, as vmstat's. */
static int bad_usage(void)
{
	fprintf(stderr, "Try '%s --help'.\n", prog);
	return 2;
}

static void __attribute__((format(printf, 1, 2), noreturn)) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* A whole (small) file into @buf: its length, or -1 with errno. */
static ssize_t read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			close(fd);
			errno = err;
			return -1;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

static bool parse_u64(const char *text, uint64_t *value)
{
	char *end;

	errno = 0;
	*value = strtoull(text, &end, 10);
	return !errno && end != text && (*end == '\0' || isspace((unsigned char)*end));
}

static void read_stat(const char *name, uint64_t *value)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), STATS_DIR "/%s", name);
	if (read_text(path, buf, sizeof(buf)) < 0)
		die("%s: %s", path, strerror(errno));
	if (!parse_u64(buf, value))
		die("%s: not a number: %s", path, buf);
}

/* node_resident_bytes or node_suspended_bytes: "<node> <bytes>" lines. */
static void read_node_stat(struct module_stats *m, const char *name,
			   bool suspended)
{
	char path[128], *buf, *line, *save;
	size_t size = 64 * MAX_NODES;

	buf = malloc(size);
	if (!buf)
		die("out of memory");
	snprintf(path, sizeof(path), STATS_DIR "/%s", name);
	if (read_text(path, buf, size) < 0) {
		/* An older module without per-node figures. */
		free(buf);
		return;
	}
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long bytes;
		int node, i;

		if (sscanf(line, "%d %llu", &node, &bytes) != 2)
			continue;
		for (i = 0; i < m->nr_nodes; i++)
			if (m->nodes[i].node == node)
				break;
		if (i == m->nr_nodes) {
			if (m->nr_nodes == MAX_NODES)
				continue;
			m->nr_nodes++;
			m->nodes[i].node = node;
			m->nodes[i].resident = 0;
			m->nodes[i].suspended = 0;
		}
		if (suspended)
			m->nodes[i].suspended = bytes;
		else
			m->nodes[i].resident = bytes;
	}
	free(buf);
}

static void read_module(struct module_stats *m)
{
	if (access(STATS_DIR, F_OK))
		die("%s: %s (is the softmem module loaded?)", STATS_DIR,
		    strerror(errno));
	read_stat("pools", &m->pools);
	read_stat("regions", &m->regions);
	read_stat("length_bytes", &m->length);
	read_stat("resident_bytes", &m->resident);
	read_stat("suspended_bytes", &m->suspended);
	read_stat("discarded_bytes", &m->discarded);
	read_stat("discard_events", &m->events);
	read_stat("huge_bytes", &m->huge);
	m->nr_nodes = 0;
	read_node_stat(m, "node_resident_bytes", false);
	read_node_stat(m, "node_suspended_bytes", true);
}

/* The device number of /dev/softmem ("10:123" in sysfs), 0 if unknown. */
static dev_t softmem_devt(void)
{
	unsigned int major, minor;
	char buf[32];
	struct stat st;

	if (read_text(DEV_FILE, buf, sizeof(buf)) >= 0 &&
	    sscanf(buf, "%u:%u", &major, &minor) == 2)
		return makedev(major, minor);
	if (!stat(DEVICE_PATH, &st) && S_ISCHR(st.st_mode))
		return st.st_rdev;
	return 0;
}

/*
 * Whether /proc/@pid/fd/@name is an open /dev/softmem: the character device
 * with softmem's number, or (without one) a link to /dev/softmem.
 */
static bool is_softmem_fd(const char *fddir, const char *name, dev_t devt)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct stat st;
	ssize_t len;

	snprintf(path, sizeof(path), "%s/%s", fddir, name);
	if (devt && !stat(path, &st))
		return S_ISCHR(st.st_mode) && st.st_rdev == devt;
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		return false;
	link[len] = '\0';
	return !strcmp(link, DEVICE_PATH);
}

/*
 * Parse the fdinfo of a pool into @row: true when it has the softmem-pool
 * and softmem-policy lines (an exported region's has softmem-region).
 */
static bool read_pool_fdinfo(const char *path, struct pool_row *row)
{
	const struct {
		const char *key;
		uint64_t *value;
	} counters[] = {
		{ "regions", &row->regions },
		{ "resident-bytes", &row->resident },
		{ "suspended-bytes", &row->suspended },
		{ "discarded-bytes", &row->discarded },
		{ "discard-events", &row->events },
		{ "huge-bytes", &row->huge },
	};
	char buf[8192], *line, *save;
	bool pool = false, policy = false, region = false;
	size_t i;

	if (read_text(path, buf, sizeof(buf)) < 0)
		return false;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':'), *value;
		const char *key = line;

		if (strncmp(line, "softmem-", 8) || !colon)
			continue;
		*colon = '\0';
		key += 8;
		value = colon + 1 + strspn(colon + 1, " \t");
		if (!strcmp(key, "pool")) {
			pool = parse_u64(value, &row->pool);
		} else if (!strcmp(key, "region")) {
			region = true;
		} else if (!strcmp(key, "policy")) {
			snprintf(row->policy, sizeof(row->policy), "%.*s",
				 (int)strcspn(value, " \t"), value);
			policy = true;
		} else {
			for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
				if (!strcmp(key, counters[i].key))
					parse_u64(value, counters[i].value);
		}
	}
	return pool && policy && !region;
}

static void read_comm(long pid, char *comm, size_t size)
{
	char path[64];
	ssize_t len;
	char *p;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	len = read_text(path, comm, size);
	if (len <= 0) {
		snprintf(comm, size, "?");
		return;
	}
	comm[strcspn(comm, "\n")] = '\0';
	for (p = comm; *p; p++)
		if (!isprint((unsigned char)*p))
			*p = '?';
}

static struct pool_row *rows_add(struct pool_rows *rows)
{
	if (rows->nr == rows->size) {
		size_t size = rows->size ? rows->size * 2 : 16;
		struct pool_row *row = realloc(rows->row, size * sizeof(*row));

		if (!row)
			die("out of memory");
		rows->row = row;
		rows->size = size;
	}
	memset(&rows->row[rows->nr], 0, sizeof(rows->row[0]));
	return &rows->row[rows->nr++];
}

static bool pid_wanted(long pid)
{
	int i;

	if (!opt.nr_pids)
		return true;
	for (i = 0; i < opt.nr_pids; i++)
		if (opt.pids[i] == pid)
			return true;
	return false;
}

static int cmp_fd_name(const struct dirent **a, const struct dirent **b)
{
	long x = atol((*a)->d_name), y = atol((*b)->d_name);

	return (x > y) - (x < y);
}

static int select_digits(const struct dirent *d)
{
	const char *p = d->d_name;

	if (!*p)
		return 0;
	for (; *p; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	return 1;
}

/*
 * The pools of process @pid, one row each (a pool it holds through several
 * descriptors once); false if its descriptors cannot be read.
 */
static bool scan_process(long pid, dev_t devt, struct pool_rows *rows)
{
	char fddir[64], path[PATH_MAX], comm[64] = "";
	struct dirent **fds;
	size_t first = rows->nr;
	int i, j, n;
	bool ok = true;

	snprintf(fddir, sizeof(fddir), "/proc/%ld/fd", pid);
	n = scandir(fddir, &fds, select_digits, cmp_fd_name);
	if (n < 0)
		return errno != EACCES && errno != EPERM;
	for (i = 0; i < n; i++) {
		struct pool_row row = { .pid = pid };
		size_t k;

		if (!is_softmem_fd(fddir, fds[i]->d_name, devt))
			continue;
		row.fd = atoi(fds[i]->d_name);
		snprintf(path, sizeof(path), "/proc/%ld/fdinfo/%s", pid,
			 fds[i]->d_name);
		errno = 0;
		if (!read_pool_fdinfo(path, &row)) {
			if (errno == EACCES || errno == EPERM)
				ok = false;
			continue;
		}
		for (k = first; k < rows->nr; k++)
			if (rows->row[k].pool == row.pool)
				break;
		if (k < rows->nr)
			continue;	/* dup()ed: seen at a lower fd */
		if (!*comm)
			read_comm(pid, comm, sizeof(comm));
		snprintf(row.comm, sizeof(row.comm), "%s", comm);
		*rows_add(rows) = row;
	}
	for (j = 0; j < n; j++)
		free(fds[j]);
	free(fds);
	return ok;
}

static int cmp_row(const void *a, const void *b)
{
	const struct pool_row *x = a, *y = b;

	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	return (x->pool > y->pool) - (x->pool < y->pool);
}

static int cmp_row_pool(const void *a, const void *b)
{
	const struct pool_row *x = a, *y = b;

	return (x->pool > y->pool) - (x->pool < y->pool);
}

/* Every visible pool; @hidden counts processes whose fds we cannot read. */
static void scan_pools(struct pool_rows *rows, unsigned int *hidden)
{
	dev_t devt = softmem_devt();
	struct dirent *d;
	DIR *proc;

	rows->nr = 0;
	*hidden = 0;
	proc = opendir("/proc");
	if (!proc)
		die("/proc: %s", strerror(errno));
	while ((d = readdir(proc))) {
		long pid;

		if (!select_digits(d))
			continue;
		pid = atol(d->d_name);
		if (!pid_wanted(pid))
			continue;
		if (!scan_process(pid, devt, rows))
			(*hidden)++;
	}
	closedir(proc);
	if (rows->nr)
		qsort(rows->row, rows->nr, sizeof(rows->row[0]), cmp_row);
}

/* @value in bytes, or with a binary unit under -h: "0B", "12.0KiB". */
static const char *size_str(char *buf, size_t size, uint64_t value)
{
	static const char * const units[] = { "KiB", "MiB", "GiB", "TiB",
					      "PiB", "EiB" };
	double v = (double)value;
	int u = -1;

	if (!opt.human) {
		snprintf(buf, size, "%" PRIu64, value);
		return buf;
	}
	if (value < 1024) {
		snprintf(buf, size, "%" PRIu64 "B", value);
		return buf;
	}
	/* Up a unit rather than print "1024.0KiB". */
	do {
		v /= 1024;
		u++;
	} while (v >= 1023.95 && u < 5);
	snprintf(buf, size, "%.1f%s", v, units[u]);
	return buf;
}

/* @now minus @before, or @now when the counter went back (a reload). */
static uint64_t delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now;
}

#define SZ	24
#define BYTES_W	"12"

static void print_module_header(void)
{
	printf("%6s %8s %" BYTES_W "s %" BYTES_W "s %" BYTES_W "s %"
	       BYTES_W "s %9s %" BYTES_W "s\n", "pools", "regions", "length",
	       "resident", "suspended", "discarded", "discards", "huge");
}

static void print_module_line(const struct module_stats *m,
			      const struct prev *prev)
{
	char a[SZ], b[SZ], c[SZ], d[SZ], e[SZ];
	uint64_t discarded = m->discarded, events = m->events;

	if (prev->valid && !opt.cumulative) {
		discarded = delta(m->discarded, prev->discarded);
		events = delta(m->events, prev->events);
	}
	printf("%6" PRIu64 " %8" PRIu64 " %" BYTES_W "s %" BYTES_W "s %"
	       BYTES_W "s %" BYTES_W "s %9" PRIu64 " %" BYTES_W "s\n",
	       m->pools, m->regions, size_str(a, SZ, m->length),
	       size_str(b, SZ, m->resident), size_str(c, SZ, m->suspended),
	       size_str(d, SZ, discarded), events, size_str(e, SZ, m->huge));
}

static void print_nodes(const struct module_stats *m)
{
	char a[SZ], b[SZ];
	int i;

	printf("%6s %" BYTES_W "s %" BYTES_W "s\n", "node", "resident",
	       "suspended");
	for (i = 0; i < m->nr_nodes; i++)
		printf("%6d %" BYTES_W "s %" BYTES_W "s\n", m->nodes[i].node,
		       size_str(a, SZ, m->nodes[i].resident),
		       size_str(b, SZ, m->nodes[i].suspended));
}

static void print_pools(const struct pool_rows *rows, const struct prev *prev)
{
	char a[SZ], b[SZ], c[SZ], d[SZ];
	size_t i;

	printf("%7s %6s %4s %-6s %8s %" BYTES_W "s %" BYTES_W "s %" BYTES_W
	       "s %9s %" BYTES_W "s %s\n", "pid", "pool", "fd", "policy",
	       "regions", "resident", "suspended", "discarded", "discards",
	       "huge", "comm");
	for (i = 0; i < rows->nr; i++) {
		const struct pool_row *r = &rows->row[i];
		uint64_t discarded = r->discarded, events = r->events;

		if (prev->valid && !opt.cumulative) {
			const struct pool_row *p = NULL;

			if (prev->pools.nr)
				p = bsearch(r, prev->pools.row, prev->pools.nr,
					    sizeof(*p), cmp_row_pool);
			/* A pool not seen before is new: all of it is news. */
			if (p) {
				discarded = delta(r->discarded, p->discarded);
				events = delta(r->events, p->events);
			}
		}
		printf("%7ld %6" PRIu64 " %4d %-6s %8" PRIu64 " %" BYTES_W "s %"
		       BYTES_W "s %" BYTES_W "s %9" PRIu64 " %" BYTES_W "s %s\n",
		       r->pid, r->pool, r->fd, r->policy, r->regions,
		       size_str(a, SZ, r->resident),
		       size_str(b, SZ, r->suspended),
		       size_str(c, SZ, discarded), events,
		       size_str(d, SZ, r->huge), r->comm);
	}
}

/* Keep this sample's discard counters for the next one's deltas. */
static void remember(struct prev *prev, const struct module_stats *m,
		     const struct pool_rows *rows)
{
	size_t i;

	prev->valid = true;
	prev->discarded = m->discarded;
	prev->events = m->events;
	prev->pools.nr = 0;
	for (i = 0; i < rows->nr; i++)
		*rows_add(&prev->pools) = rows->row[i];
	if (prev->pools.nr)
		qsort(prev->pools.row, prev->pools.nr,
		      sizeof(prev->pools.row[0]), cmp_row_pool);
}

static bool parse_interval(const char *text, struct timespec *ts)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(text, &end);
	if (errno || end == text || *end || !(s > 0) || s > 86400 * 365)
		return false;
	ts->tv_sec = (time_t)s;
	ts->tv_nsec = (long)((s - (double)ts->tv_sec) * 1e9);
	if (!ts->tv_sec && !ts->tv_nsec)
		ts->tv_nsec = 1;
	return true;
}

static void timespec_add(struct timespec *t, const struct timespec *d)
{
	t->tv_sec += d->tv_sec;
	t->tv_nsec += d->tv_nsec;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct timespec interval = { 0 }, next;
	struct module_stats *m;
	struct pool_rows rows = { 0 };
	struct prev prev = { 0 };
	unsigned long long count = 1, sample;
	bool repeat = false, warned = false;
	int c;

	if (argv[0] && *argv[0]) {
		const char *slash = strrchr(argv[0], '/');

		prog = slash ? slash + 1 : argv[0];
	}
	while ((c = getopt_long(argc, argv, "hmcp:", longopts, NULL)) != -1) {
		char *end;
		long pid;

		switch (c) {
		case 'h':
			opt.human = true;
			break;
		case 'm':
			opt.module_only = true;
			break;
		case 'c':
			opt.cumulative = true;
			break;
		case 'p':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || pid <= 0) {
				fprintf(stderr, "%s: -p: not a process id: %s\n",
					prog, optarg);
				return bad_usage();
			}
			if (opt.nr_pids == MAX_PIDS) {
				fprintf(stderr, "%s: at most %d -p\n", prog,
					MAX_PIDS);
				return bad_usage();
			}
			opt.pids[opt.nr_pids++] = pid;
			break;
		case 'H':
			usage(stdout);
			return 0;
		default:
			return bad_usage();
		}
	}
	if (argc - optind > 2) {
		fprintf(stderr, "%s: too many arguments\n", prog);
		return bad_usage();
	}
	if (optind < argc) {
		if (!parse_interval(argv[optind], &interval)) {
			fprintf(stderr, "%s: not an interval in seconds: %s\n",
				prog, argv[optind]);
			return bad_usage();
		}
		repeat = true;
		count = 0;	/* until interrupted */
	}
	if (optind + 1 < argc) {
		char *end;

		errno = 0;
		count = strtoull(argv[optind + 1], &end, 10);
		if (errno || end == argv[optind + 1] || *end || !count ||
		    argv[optind + 1][0] == '-') {
			fprintf(stderr, "%s: not a count: %s\n", prog,
				argv[optind + 1]);
			return bad_usage();
		}
	}

	m = calloc(1, sizeof(*m));
	if (!m)
		die("out of memory");
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (sample = 0; !count || sample < count; sample++) {
		unsigned int hidden = 0;

		if (sample) {
			timespec_add(&next, &interval);
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
					       &next, NULL) == EINTR)
				;
		}
		read_module(m);
		if (opt.module_only) {
			if (!sample)
				print_module_header();
			print_module_line(m, &prev);
		} else {
			scan_pools(&rows, &hidden);
			if (sample)
				putchar('\n');
			print_module_header();
			print_module_line(m, &prev);
			putchar('\n');
			print_nodes(m);
			putchar('\n');
			print_pools(&rows, &prev);
		}
		if (fflush(stdout) == EOF)
			die("stdout: %s", strerror(errno));
		if (hidden && !warned) {
			fprintf(stderr,
				"%s: cannot read the descriptors of %u processes: their pools are not shown (run as root)\n",
				prog, hidden);
			warned = true;
		}
		if (repeat)
			remember(&prev, m, &rows);
	}
	free(prev.pools.row);
	free(rows.row);
	free(m);
	return 0;
}
