// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_softmemstat: softmemstat(1) prints the figures it should.
 *
 * Pools with known regions, resident, suspended and discarded bytes are
 * made here (and checked with SOFTMEM_IOC_STATS first); then the
 * softmemstat binary built beside this test (selftests/softmemstat, from
 * tools/softmemstat) is run and its output parsed:
 * - each pool of this process once (dup()ed or not), with its number,
 *   descriptor, policy, counters and comm, and no row for an exported
 *   region's descriptor;
 * - a child's own pool and the pool it inherited, under its pid and comm;
 * - the module-wide line equal to /sys/class/misc/softmem/stats/, and the
 *   per-node lines summing to it;
 * - -h sizes (1.5MiB, 1.0MiB, 0B);
 * - repeating: a discard made between two samples shows in the second as the
 *   interval's discarded bytes and events, module-wide and in its pool's row,
 *   and -m prints one header and one line per sample;
 * - bad arguments exit with status 2.
 */
#include "softmem_test.h"

#include <limits.h>
#include <poll.h>

#define MAX_OUTPUT	(256 * 1024)
#define MAX_FIELDS	16
#define FIELD_SIZE	64
#define MAX_LINES	64

/* Columns of a pool row. */
enum {
	PC_PID, PC_POOL, PC_FD, PC_POLICY, PC_REGIONS, PC_RESIDENT,
	PC_SUSPENDED, PC_DISCARDED, PC_DISCARDS, PC_HUGE, PC_COMM
};

/* Columns of the module-wide line. */
enum {
	MC_POOLS, MC_REGIONS, MC_LENGTH, MC_RESIDENT, MC_SUSPENDED,
	MC_DISCARDED, MC_DISCARDS, MC_HUGE, MC_NR
};

struct fields {
	int n;
	char f[MAX_FIELDS][FIELD_SIZE];
};

/* The softmemstat binary: $SOFTMEMSTAT, else the one beside this test. */
static bool find_softmemstat(char *path, size_t size)
{
	const char *env = getenv("SOFTMEMSTAT");
	char self[PATH_MAX - 16];
	ssize_t len;
	char *slash;

	if (env && *env) {
		snprintf(path, size, "%s", env);
		return !access(path, X_OK);
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0)
		return false;
	self[len] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	snprintf(path, size, "%s/softmemstat", self);
	return !access(path, X_OK);
}

/* Start @argv with its stdout on a pipe: the pid, the read end in @out. */
static pid_t spawn(char *const argv[], int *out)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (!pid) {
		dup2(fds[1], STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	*out = fds[0];
	return pid;
}

/* Append what @fd has to @buf (NUL-terminated); 0 at EOF, -1 on error. */
static ssize_t read_more(int fd, char *buf, size_t *len)
{
	ssize_t n;

	if (*len >= MAX_OUTPUT - 1)
		return -1;
	do {
		n = read(fd, buf + *len, MAX_OUTPUT - 1 - *len);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		*len += n;
		buf[*len] = '\0';
	}
	return n;
}

/* Run softmemstat with @args (NULL-ended); its output in @buf, its status. */
static int run_softmemstat(const char *tool, char *buf, ...)
{
	char *argv[16];
	size_t len = 0;
	va_list ap;
	int argc = 0, fd;
	pid_t pid;

	argv[argc++] = (char *)tool;
	va_start(ap, buf);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	buf[0] = '\0';
	pid = spawn(argv, &fd);
	if (pid < 0)
		return -errno;
	while (read_more(fd, buf, &len) > 0)
		;
	close(fd);
	return wait_child(pid);
}

static void split(const char *line, struct fields *out)
{
	const char *p = line;

	out->n = 0;
	while (out->n < MAX_FIELDS) {
		size_t len;

		p += strspn(p, " \t");
		len = strcspn(p, " \t\n");
		if (!len)
			break;
		snprintf(out->f[out->n++], FIELD_SIZE, "%.*s", (int)len, p);
		p += len;
	}
}

/*
 * The data lines of section @section ("pools", "node" or "pid": the first
 * word of its header) in sample @sample (0-based; a sample begins at each
 * "pools" header), at most @max into @lines; returns how many.  Under -m
 * the header comes once, so every line is in sample 0.
 */
static int section_lines(const char *out, int sample, const char *section,
			 struct fields *lines, int max)
{
	const char *line = out;
	char cur[FIELD_SIZE] = "";
	int n = 0, s = -1;

	while (*line) {
		const char *end = strchr(line, '\n');
		char text[512];
		struct fields f;
		size_t len = end ? (size_t)(end - line) : strlen(line);

		snprintf(text, sizeof(text), "%.*s", (int)len, line);
		line += len + (end ? 1 : 0);
		split(text, &f);
		if (!f.n)
			continue;
		if (!strcmp(f.f[0], "pools") || !strcmp(f.f[0], "node") ||
		    !strcmp(f.f[0], "pid")) {
			if (!strcmp(f.f[0], "pools"))
				s++;
			snprintf(cur, sizeof(cur), "%s", f.f[0]);
			continue;
		}
		if (s == sample && !strcmp(cur, section) && n < max)
			lines[n++] = f;
	}
	return n;
}

/* The row of pool @pool held by @pid in sample @sample, or false. */
static bool pool_row(const char *out, int sample, pid_t pid, uint64_t pool,
		     struct fields *row)
{
	static struct fields lines[MAX_LINES];
	char want_pid[32], want_pool[32];
	int n, i;

	snprintf(want_pid, sizeof(want_pid), "%d", pid);
	snprintf(want_pool, sizeof(want_pool), "%llu",
		 (unsigned long long)pool);
	n = section_lines(out, sample, "pid", lines, MAX_LINES);
	for (i = 0; i < n; i++) {
		if (lines[i].n > PC_COMM && !strcmp(lines[i].f[PC_PID], want_pid) &&
		    !strcmp(lines[i].f[PC_POOL], want_pool)) {
			*row = lines[i];
			return true;
		}
	}
	return false;
}

/* How many rows of @pid sample @sample has. */
static int pool_rows_of(const char *out, int sample, pid_t pid)
{
	static struct fields lines[MAX_LINES];
	char want[32];
	int n, i, count = 0;

	snprintf(want, sizeof(want), "%d", pid);
	n = section_lines(out, sample, "pid", lines, MAX_LINES);
	for (i = 0; i < n; i++)
		count += !strcmp(lines[i].f[PC_PID], want);
	return count;
}

static const char *u64s(char *buf, uint64_t v)
{
	snprintf(buf, 32, "%llu", (unsigned long long)v);
	return buf;
}

FIXTURE(softmemstat) {
	char tool[PATH_MAX];
	char *out;
	size_t page;
	int a, a_dup, b, export_fd;
	uint64_t a_id, b_id;
	struct softmem_stats a_st, b_st;
};

/*
 * Pool a (lru): 16 pages written and suspended, 4 pages with 1 written and
 * resumed, 1 page never written; a dup() of it and an exported region's
 * descriptor.  Pool b (fifo, limit 4 pages): 4 pages written and suspended,
 * discarded by a write of 1 page to another region.
 */
FIXTURE_SETUP(softmemstat)
{
	size_t page = page_size();
	uint64_t h;

	self->a = self->a_dup = self->b = self->export_fd = -1;
	SKIP_IF_NO_DEVICE();
	ASSERT_TRUE(find_softmemstat(self->tool, sizeof(self->tool))) {
		TH_LOG("no softmemstat beside this test (make -C selftests), nor $SOFTMEMSTAT");
	}
	self->out = malloc(MAX_OUTPUT);
	ASSERT_NE(NULL, self->out);
	self->page = page;

	self->a = softmem_open();
	ASSERT_LE(0, self->a);
	ASSERT_EQ(0, region_alloc_filled(self->a, 16 * page, 1, &h));
	ASSERT_EQ(0, softmem_suspend(self->a, h));
	ASSERT_EQ(0, softmem_alloc(self->a, 4 * page, &h));
	ASSERT_EQ(0, region_write_pattern(self->a, h, page, page, 2));
	self->export_fd = softmem_export(self->a, h, 0);
	ASSERT_LE(0, self->export_fd);
	ASSERT_EQ(0, softmem_alloc(self->a, page, &h));
	self->a_dup = fcntl(self->a, F_DUPFD_CLOEXEC, self->export_fd + 1);
	ASSERT_LE(0, self->a_dup);

	self->b = softmem_open();
	ASSERT_LE(0, self->b);
	ASSERT_EQ(0, softmem_set_policy(self->b, SOFTMEM_POLICY_FIFO));
	ASSERT_EQ(0, softmem_set_limit(self->b, 4 * page));
	ASSERT_EQ(0, region_alloc_filled(self->b, 4 * page, 3, &h));
	ASSERT_EQ(0, softmem_suspend(self->b, h));
	ASSERT_EQ(0, softmem_alloc(self->b, 2 * page, &h));
	ASSERT_EQ(0, region_write_pattern(self->b, h, 0, page, 4));

	/* What softmemstat must show, as the pools count it. */
	ASSERT_EQ(0, pool_stats(self->a, &self->a_st));
	ASSERT_EQ(3, self->a_st.regions);
	ASSERT_EQ(17 * page, self->a_st.resident_bytes);
	ASSERT_EQ(16 * page, self->a_st.suspended_bytes);
	ASSERT_EQ(0, self->a_st.discarded_bytes);
	ASSERT_EQ(0, pool_stats(self->b, &self->b_st));
	ASSERT_EQ(2, self->b_st.regions);
	ASSERT_EQ(page, self->b_st.resident_bytes);
	ASSERT_EQ(0, self->b_st.suspended_bytes);
	ASSERT_EQ(4 * page, self->b_st.discarded_bytes);
	ASSERT_EQ(1, self->b_st.discard_events);

	self->a_id = fdinfo_field(self->a, "softmem-pool");
	self->b_id = fdinfo_field(self->b, "softmem-pool");
	ASSERT_LT(0, (int64_t)self->a_id);
	ASSERT_LT(0, (int64_t)self->b_id);
}

FIXTURE_TEARDOWN(softmemstat)
{
	/* What a failed case saw last. */
	if (_metadata->exit_code == KSFT_FAIL && self->out && self->out[0])
		TH_LOG("the last softmemstat output:\n%s", self->out);
	if (self->export_fd >= 0)
		close(self->export_fd);
	if (self->a_dup >= 0)
		close(self->a_dup);
	if (self->a >= 0)
		softmem_close(self->a);
	if (self->b >= 0)
		softmem_close(self->b);
	free(self->out);
}

/* Row @row shows pool @st of @pid through @fd with @policy and @comm. */
static void check_row(struct __test_metadata *_metadata,
		      const struct fields *row, int fd, const char *policy,
		      const struct softmem_stats *st, const char *comm)
{
	char v[32];

	EXPECT_STREQ(u64s(v, fd), row->f[PC_FD]);
	EXPECT_STREQ(policy, row->f[PC_POLICY]);
	EXPECT_STREQ(u64s(v, st->regions), row->f[PC_REGIONS]);
	EXPECT_STREQ(u64s(v, st->resident_bytes), row->f[PC_RESIDENT]);
	EXPECT_STREQ(u64s(v, st->suspended_bytes), row->f[PC_SUSPENDED]);
	EXPECT_STREQ(u64s(v, st->discarded_bytes), row->f[PC_DISCARDED]);
	EXPECT_STREQ(u64s(v, st->discard_events), row->f[PC_DISCARDS]);
	EXPECT_STREQ(u64s(v, st->huge_bytes), row->f[PC_HUGE]);
	EXPECT_STREQ(comm, row->f[PC_COMM]);
}

static void self_comm(char *comm, size_t size)
{
	if (read_file("/proc/self/comm", comm, size))
		snprintf(comm, size, "?");
	comm[strcspn(comm, "\n")] = '\0';
}

TEST_F(softmemstat, shows_each_pool_of_this_process)
{
	char pid[32], comm[64];
	struct fields row;

	self_comm(comm, sizeof(comm));
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, run_softmemstat(self->tool, self->out, "-p", pid, NULL));

	/* a once (not for its dup, nor the exported region), and b. */
	EXPECT_EQ(2, pool_rows_of(self->out, 0, getpid()));
	ASSERT_TRUE(pool_row(self->out, 0, getpid(), self->a_id, &row));
	check_row(_metadata, &row, self->a, "lru", &self->a_st, comm);
	ASSERT_TRUE(pool_row(self->out, 0, getpid(), self->b_id, &row));
	check_row(_metadata, &row, self->b, "fifo", &self->b_st, comm);
}

TEST_F(softmemstat, shows_other_processes_and_inherited_pools)
{
	struct softmem_stats c_st;
	struct fields row;
	char comm[64];
	uint64_t c_id, h, v;
	struct peer p = { 0 };
	pid_t child;
	int c;

	self_comm(comm, sizeof(comm));
	child = fork_peer(&p);
	ASSERT_LE(0, child);
	if (!child) {
		/* The child: its own pool c, 2 regions, 2 pages resident. */
		int pool = softmem_open();

		prctl(PR_SET_NAME, "smstat child");
		if (pool < 0 || region_alloc_filled(pool, 2 * page_size(), 5, &h) ||
		    softmem_alloc(pool, page_size(), &h))
			_exit(1);
		peer_send(&p, pool);
		peer_send(&p, fdinfo_field(pool, "softmem-pool"));
		peer_recv(&p, &v);	/* until the parent has looked */
		_exit(0);
	}
	ASSERT_EQ(0, peer_recv(&p, &v));
	c = (int)v;
	ASSERT_EQ(0, peer_recv(&p, &c_id));

	/* Every process: no -p. */
	ASSERT_EQ(0, run_softmemstat(self->tool, self->out, NULL));
	memset(&c_st, 0, sizeof(c_st));
	c_st.regions = 2;
	c_st.resident_bytes = 2 * self->page;

	ASSERT_TRUE(pool_row(self->out, 0, p.pid, c_id, &row));
	check_row(_metadata, &row, c, "lru", &c_st, "smstat");
	/* comm may hold a space: it is the last column, to the end of line. */
	EXPECT_STREQ("child", row.f[PC_COMM + 1]);
	/* The child's copy of a: the same pool, the same figures. */
	ASSERT_TRUE(pool_row(self->out, 0, p.pid, self->a_id, &row));
	check_row(_metadata, &row, self->a, "lru", &self->a_st, "smstat");
	EXPECT_EQ(3, pool_rows_of(self->out, 0, p.pid));
	ASSERT_TRUE(pool_row(self->out, 0, getpid(), self->b_id, &row));
	check_row(_metadata, &row, self->b, "fifo", &self->b_st, comm);

	peer_send(&p, 1);
	EXPECT_EQ(0, peer_wait(&p));
}

/* The module-wide counters, in the module line's column order. */
static int module_line_values(uint64_t v[MC_NR])
{
	static const char * const names[MC_NR] = {
		"pools", "regions", "length_bytes", "resident_bytes",
		"suspended_bytes", "discarded_bytes", "discard_events",
		"huge_bytes",
	};
	int i, ret;

	for (i = 0; i < MC_NR; i++) {
		ret = module_stat(names[i], &v[i]);
		if (ret)
			return ret;
	}
	return 0;
}

TEST_F(softmemstat, module_line_is_sysfs)
{
	uint64_t before[MC_NR], after[MC_NR], node_res = 0, node_susp = 0;
	struct fields lines[MAX_LINES];
	char v[32];
	int n, i;

	/*
	 * Nothing else runs in the guest, but an earlier test's pool may
	 * still be being freed: retry until the counters hold still around
	 * a run.
	 */
	for (i = 0; i < 50; i++) {
		ASSERT_EQ(0, module_line_values(before));
		ASSERT_EQ(0, run_softmemstat(self->tool, self->out, NULL));
		ASSERT_EQ(0, module_line_values(after));
		if (!memcmp(before, after, sizeof(before)))
			break;
		usleep(100000);
	}
	ASSERT_EQ(0, memcmp(before, after, sizeof(before))) {
		TH_LOG("the module's counters moved during every run");
	}
	EXPECT_LE(2, before[MC_POOLS]);
	EXPECT_LE(5, before[MC_REGIONS]);

	n = section_lines(self->out, 0, "pools", lines, MAX_LINES);
	ASSERT_EQ(1, n);
	ASSERT_EQ(MC_NR, lines[0].n);
	for (i = 0; i < MC_NR; i++)
		EXPECT_STREQ(u64s(v, before[i]), lines[0].f[i]);

	/* One line per node with memory, summing to the module's bytes. */
	n = section_lines(self->out, 0, "node", lines, MAX_LINES);
	ASSERT_LE(1, n);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(3, lines[i].n);
		node_res += strtoull(lines[i].f[1], NULL, 10);
		node_susp += strtoull(lines[i].f[2], NULL, 10);
	}
	EXPECT_EQ(before[MC_RESIDENT], node_res);
	EXPECT_EQ(before[MC_SUSPENDED], node_susp);

	/* -m: the same line alone. */
	ASSERT_EQ(0, run_softmemstat(self->tool, self->out, "-m", NULL));
	n = section_lines(self->out, 0, "pools", lines, MAX_LINES);
	ASSERT_EQ(1, n);
	for (i = 0; i < MC_NR; i++)
		EXPECT_STREQ(u64s(v, before[i]), lines[0].f[i]);
	EXPECT_EQ(0, section_lines(self->out, 0, "pid", lines, MAX_LINES));
	EXPECT_EQ(NULL, strstr(self->out, "node"));
}

TEST_F(softmemstat, human_readable_sizes)
{
	struct fields row, lines[MAX_LINES];
	char pid[32], comm[64];
	uint64_t h, id;
	int pool;

	/* 1 MiB suspended and 512 KiB resumed: 1.5MiB resident, 1.0MiB suspended. */
	pool = softmem_open();
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, region_alloc_filled(pool, MiB, 6, &h));
	ASSERT_EQ(0, softmem_suspend(pool, h));
	ASSERT_EQ(0, region_alloc_filled(pool, 512 * KiB, 7, &h));
	id = fdinfo_field(pool, "softmem-pool");

	self_comm(comm, sizeof(comm));
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, run_softmemstat(self->tool, self->out, "-h", "-p", pid,
				     NULL));
	ASSERT_TRUE(pool_row(self->out, 0, getpid(), id, &row));
	EXPECT_STREQ("2", row.f[PC_REGIONS]);
	EXPECT_STREQ("1.5MiB", row.f[PC_RESIDENT]);
	EXPECT_STREQ("1.0MiB", row.f[PC_SUSPENDED]);
	EXPECT_STREQ("0B", row.f[PC_DISCARDED]);
	EXPECT_STREQ("0", row.f[PC_DISCARDS]);
	EXPECT_STREQ(comm, row.f[PC_COMM]);

	/* Pool b: 1 page resident, 4 discarded (16.0KiB with 4 KiB pages). */
	ASSERT_TRUE(pool_row(self->out, 0, getpid(), self->b_id, &row));
	EXPECT_STREQ("0B", row.f[PC_SUSPENDED]);
	if (self->page == 4 * KiB) {
		EXPECT_STREQ("4.0KiB", row.f[PC_RESIDENT]);
		EXPECT_STREQ("16.0KiB", row.f[PC_DISCARDED]);
	}

	/* The module line: counts as numbers, sizes with a unit. */
	ASSERT_EQ(1, section_lines(self->out, 0, "pools", lines, MAX_LINES));
	EXPECT_EQ(NULL, strpbrk(lines[0].f[MC_POOLS], "BKMGi"));
	EXPECT_NE(NULL, strstr(lines[0].f[MC_RESIDENT], "iB"));
	softmem_close(pool);
}

TEST_F(softmemstat, repeating_shows_discards_per_interval)
{
	size_t page = self->page, len = 0;
	struct fields row, lines[MAX_LINES];
	uint64_t h, e_id, disc0, events0;
	char pid[32], v[32];
	char *argv[] = { self->tool, "-p", pid, "2", "3", NULL };
	int fd, status, pool;
	pid_t child;

	/* Pool e: limit 4 pages, 3 pages written and suspended. */
	pool = softmem_open();
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, softmem_set_limit(pool, 4 * page));
	ASSERT_EQ(0, region_alloc_filled(pool, 3 * page, 8, &h));
	ASSERT_EQ(0, softmem_suspend(pool, h));
	ASSERT_EQ(0, softmem_alloc(pool, 2 * page, &h));
	e_id = fdinfo_field(pool, "softmem-pool");
	ASSERT_EQ(0, module_stat("discarded_bytes", &disc0));
	ASSERT_EQ(0, module_stat("discard_events", &events0));

	snprintf(pid, sizeof(pid), "%d", getpid());
	self->out[0] = '\0';
	child = spawn(argv, &fd);
	ASSERT_LT(0, child);
	/* The first sample, written at once: wait for all of it. */
	while (!len || self->out[len - 1] != '\n' ||
	       section_lines(self->out, 0, "pid", lines, MAX_LINES) < 3)
		ASSERT_LT(0, read_more(fd, self->out, &len));
	/* Between the first two samples: 2 pages discard the 3 suspended. */
	ASSERT_EQ(0, region_write_pattern(pool, h, 0, 2 * page, 9));
	while (read_more(fd, self->out, &len) > 0)
		;
	close(fd);
	status = wait_child(child);
	ASSERT_EQ(0, status);

	/*
	 * Module-wide, sample 0: since load (at least what was discarded
	 * before it); 1: the discard (and whatever else happened then,
	 * nothing in a quiet guest); 2: less than since load.  disc0 holds
	 * pool b's discard, so since load is never 0.
	 */
	ASSERT_EQ(1, section_lines(self->out, 0, "pools", lines, MAX_LINES));
	EXPECT_LE(disc0, strtoull(lines[0].f[MC_DISCARDED], NULL, 10));
	EXPECT_LE(events0, strtoull(lines[0].f[MC_DISCARDS], NULL, 10));
	ASSERT_EQ(1, section_lines(self->out, 1, "pools", lines, MAX_LINES));
	EXPECT_LE(3 * page, strtoull(lines[0].f[MC_DISCARDED], NULL, 10));
	EXPECT_GT(disc0 + 3 * page, strtoull(lines[0].f[MC_DISCARDED], NULL, 10));
	EXPECT_LE(1, strtoull(lines[0].f[MC_DISCARDS], NULL, 10));
	EXPECT_GT(events0 + 1, strtoull(lines[0].f[MC_DISCARDS], NULL, 10));
	ASSERT_EQ(1, section_lines(self->out, 2, "pools", lines, MAX_LINES));
	EXPECT_GT(disc0 + 3 * page, strtoull(lines[0].f[MC_DISCARDED], NULL, 10));

	/* Pool e's row likewise; pool b's discard was before: 0 after. */
	ASSERT_TRUE(pool_row(self->out, 0, getpid(), e_id, &row));
	EXPECT_STREQ("0", row.f[PC_DISCARDED]);
	EXPECT_STREQ(u64s(v, 3 * page), row.f[PC_SUSPENDED]);
	ASSERT_TRUE(pool_row(self->out, 1, getpid(), e_id, &row));
	EXPECT_STREQ(u64s(v, 3 * page), row.f[PC_DISCARDED]);
	EXPECT_STREQ("1", row.f[PC_DISCARDS]);
	EXPECT_STREQ("0", row.f[PC_SUSPENDED]);
	EXPECT_STREQ(u64s(v, 2 * page), row.f[PC_RESIDENT]);
	ASSERT_TRUE(pool_row(self->out, 2, getpid(), e_id, &row));
	EXPECT_STREQ("0", row.f[PC_DISCARDED]);
	EXPECT_STREQ("0", row.f[PC_DISCARDS]);
	ASSERT_TRUE(pool_row(self->out, 0, getpid(), self->b_id, &row));
	EXPECT_STREQ(u64s(v, 4 * page), row.f[PC_DISCARDED]);
	ASSERT_TRUE(pool_row(self->out, 1, getpid(), self->b_id, &row));
	EXPECT_STREQ("0", row.f[PC_DISCARDED]);
	EXPECT_STREQ("0", row.f[PC_DISCARDS]);

	/* -c: since load in every sample. */
	ASSERT_EQ(0, run_softmemstat(self->tool, self->out, "-c", "-p", pid,
				     "0.1", "2", NULL));
	ASSERT_TRUE(pool_row(self->out, 1, getpid(), e_id, &row));
	EXPECT_STREQ(u64s(v, 3 * page), row.f[PC_DISCARDED]);
	softmem_close(pool);
}

TEST_F(softmemstat, module_only_prints_a_line_per_sample)
{
	struct fields lines[MAX_LINES];
	const char *p;
	int headers = 0;

	ASSERT_EQ(0, run_softmemstat(self->tool, self->out, "-m", "0.1", "3",
				     NULL));
	for (p = self->out; (p = strstr(p, "pools")); p++)
		headers++;
	EXPECT_EQ(1, headers);
	EXPECT_EQ(3, section_lines(self->out, 0, "pools", lines, MAX_LINES));
	EXPECT_EQ(MC_NR, lines[2].n);
}

TEST_F(softmemstat, bad_arguments_exit_2)
{
	EXPECT_EQ(2, run_softmemstat(self->tool, self->out, "0", NULL));
	EXPECT_EQ(2, run_softmemstat(self->tool, self->out, "-1", NULL));
	EXPECT_EQ(2, run_softmemstat(self->tool, self->out, "1", "0", NULL));
	EXPECT_EQ(2, run_softmemstat(self->tool, self->out, "x", NULL));
	EXPECT_EQ(2, run_softmemstat(self->tool, self->out, "1", "2", "3",
				     NULL));
	EXPECT_EQ(2, run_softmemstat(self->tool, self->out, "-p", "abc", NULL));
	EXPECT_EQ(2, run_softmemstat(self->tool, self->out, "-x", NULL));
	EXPECT_EQ(0, run_softmemstat(self->tool, self->out, "--help", NULL));
	EXPECT_NE(NULL, strstr(self->out, "Usage:"));
}

TEST_HARNESS_MAIN
