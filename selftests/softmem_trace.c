// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_trace: what the module shows an administrator.
 *
 * - The softmem: tracepoints of a scripted sequence (alloc, suspend, a
 *   discard, resume, export, import, map, free), and a discard event with
 *   each reason that can be provoked here: shrinker, pool_limit, memcg,
 *   watermark and manager.
 * - Every call site of every event, through each way the kernel can take
 *   it: recorded, tracing off (no room in the buffer), the event soft
 *   disabled by an enable_event trigger, and counted by perf for this task
 *   and for another one.
 * - /proc/<pid>/fdinfo of a pool and of an exported region.
 */
#include "softmem_test.h"

#include <linux/magic.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

#define TRACEFS		"/sys/kernel/tracing"
#define TRACE_LINE	512

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC	0x74726163
#endif

/* Empties tracefs file @name: an open for writing that truncates does. */
static int tracefs_truncate(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), TRACEFS "/%s", name);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Empties the trace buffer. */
static int trace_clear(void)
{
	return tracefs_truncate("trace");
}

/* The softmem: events on, the buffer empty; SKIP without tracefs. */
static bool trace_start(struct __test_metadata *_metadata)
{
	if (ensure_mounted("tracefs", TRACEFS, TRACEFS_MAGIC))
		SKIP(return false, "no tracefs at %s", TRACEFS);
	if (access(TRACEFS "/events/softmem/enable", W_OK))
		SKIP(return false, "no softmem events in %s", TRACEFS);
	ASSERT_EQ(0, write_file(TRACEFS "/buffer_size_kb", "4096"));
	ASSERT_EQ(0, trace_clear());
	ASSERT_EQ(0, write_file(TRACEFS "/events/softmem/enable", "1"));
	return true;
}

static void trace_stop(void)
{
	write_file(TRACEFS "/events/softmem/enable", "0");
}

/* Every softmem event, as named in events/softmem/. */
static const char * const event_names[] = {
	"softmem_alloc", "softmem_free", "softmem_suspend", "softmem_import",
	"softmem_resume", "softmem_export", "softmem_map", "softmem_discard",
};
#define NR_EVENTS	(sizeof(event_names) / sizeof(event_names[0]))

/*
 * The softmem events in the trace, one per line of @out ("name: fields"),
 * in order; returns how many.
 */
static int trace_events(char (*out)[TRACE_LINE], int max)
{
	FILE *f = fopen(TRACEFS "/trace", "r");
	char line[TRACE_LINE];
	int n = 0;

	if (!f)
		return -errno;
	while (n < max && fgets(line, sizeof(line), f)) {
		char *ev = strstr(line, " softmem_");

		if (!ev || line[0] == '#')
			continue;
		ev[strcspn(ev, "\n")] = '\0';
		snprintf(out[n++], TRACE_LINE, "%s", ev + 1);
	}
	fclose(f);
	return n;
}

/* The index of the first event from @from that holds every word given. */
static int find_event(char (*ev)[TRACE_LINE], int n, int from, ...)
{
	va_list ap;
	int i;

	for (i = from; i < n; i++) {
		const char *word;
		bool all = true;

		va_start(ap, from);
		while ((word = va_arg(ap, const char *)))
			all = all && strstr(ev[i], word);
		va_end(ap);
		if (all)
			return i;
	}
	return -1;
}

/*
 * Fires every call site of every event once: alloc, suspend and resume
 * (discarded, then intact) through a handle's own word, the same through a
 * lock-free pool's ioctls, a discard by the pool's limit, export, import,
 * map and free.  0 or -errno of the first call that failed.
 */
static int fire_every_event(int pool, int other)
{
	struct softmem_suspend suspend = { .size = sizeof(suspend) };
	struct softmem_resume resume = { .size = sizeof(resume) };
	size_t page = page_size();
	int lockfree, fd, ret;
	uint64_t h, imported, max;
	bool discarded;
	void *p;

	ret = module_param("pool_max_bytes", &max);
	ret = ret ?: region_alloc_filled(pool, 2 * page, 7, &h);
	ret = ret ?: softmem_suspend(pool, h);
	ret = ret ?: softmem_set_limit(pool, 0);
	ret = ret ?: softmem_set_limit(pool, max);
	ret = ret ?: softmem_resume(pool, h, &discarded);
	ret = ret ?: softmem_resume(pool, h, &discarded);
	if (ret)
		return ret;
	fd = softmem_export(pool, h, 0);
	if (fd < 0)
		return fd;
	ret = softmem_import(other, fd, &imported, NULL);
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		ret = ret ?: -errno;
	else
		munmap(p, page);
	close(fd);
	ret = ret ?: softmem_free(other, imported);
	ret = ret ?: softmem_free(pool, h);
	if (ret)
		return ret;

	/* A lock-free pool's handles, through the ioctls. */
	lockfree = softmem_open();
	if (lockfree < 0)
		return lockfree;
	ret = softmem_lockfree(lockfree, 4);
	ret = ret ?: softmem_alloc(lockfree, page, &h);
	suspend.handle = h;
	resume.handle = h;
	ret = ret ?: softmem_raw_ioctl(lockfree, SOFTMEM_IOC_SUSPEND, &suspend);
	ret = ret ?: softmem_raw_ioctl(lockfree, SOFTMEM_IOC_RESUME, &resume);
	softmem_close(lockfree);
	return ret;
}

/* Text field @key of /proc/self/fdinfo/@fd into @buf; false if absent. */
static bool fdinfo_text(int fd, const char *key, char *buf, size_t size)
{
	char path[64], line[256];
	size_t len = strlen(key);
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, len) || line[len] != ':')
			continue;
		snprintf(buf, size, "%s", line + len + 1 + strspn(line + len + 1, " \t"));
		buf[strcspn(buf, "\n")] = '\0';
		found = true;
	}
	fclose(f);
	return found;
}

FIXTURE(trace) {
	int pool, other;
	char cgroup[128];
	bool params_changed;
	char (*ev)[TRACE_LINE];
};

#define MAX_EVENTS	4096

FIXTURE_SETUP(trace)
{
	SKIP_IF_NO_DEVICE();
	self->ev = calloc(MAX_EVENTS, TRACE_LINE);
	ASSERT_NE(NULL, self->ev);
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	self->other = softmem_open();
	ASSERT_LE(0, self->other);
}

FIXTURE_TEARDOWN(trace)
{
	trace_stop();
	tracefs_truncate("set_event_pid");
	if (self->params_changed) {
		set_module_param("manager_high_bytes", 0);
		set_module_param("manager_low_bytes", 0);
		set_module_param("manager_free_bytes", 0);
	}
	if (self->pool > 0)
		softmem_close(self->pool);
	if (self->other > 0)
		softmem_close(self->other);
	if (self->cgroup[0])
		rmdir(self->cgroup);
	free(self->ev);
}

TEST_F(trace, scripted_sequence_emits_each_event)
{
	size_t page = page_size();
	char pool_id[64], h_id[32], region_id[64], word[64];
	uint64_t h, imported;
	bool discarded;
	int n, i, fd;
	void *p;

	if (!trace_start(_metadata))
		return;
	snprintf(pool_id, sizeof(pool_id), "pool=%lld",
		 (long long)fdinfo_field(self->pool, "softmem-pool"));
	ASSERT_EQ(0, region_alloc_filled(self->pool, 4 * page, 3, &h));
	snprintf(h_id, sizeof(h_id), "handle=%llu", (unsigned long long)h);
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(0, softmem_resume(self->pool, h, &discarded));
	ASSERT_TRUE(discarded);
	fd = softmem_export(self->pool, h, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, softmem_import(self->other, fd, &imported, NULL));
	p = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, page);
	ASSERT_NE(MAP_FAILED, p);
	snprintf(region_id, sizeof(region_id), "region=%lld",
		 (long long)fdinfo_field(fd, "softmem-region"));
	ASSERT_EQ(0, munmap(p, 2 * page));
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, softmem_free(self->pool, h));
	trace_stop();

	n = trace_events(self->ev, MAX_EVENTS);
	ASSERT_LT(0, n);
	i = find_event(self->ev, n, 0, "softmem_alloc:", pool_id, h_id,
		       region_id, "pages=4", NULL);
	EXPECT_LE(0, i);
	i = find_event(self->ev, n, i + 1, "softmem_suspend:", pool_id, h_id,
		       NULL);
	EXPECT_LE(0, i);
	i = find_event(self->ev, n, i + 1, "softmem_discard:", region_id,
		       "pages=4", "reason=shrinker", NULL);
	EXPECT_LE(0, i);
	i = find_event(self->ev, n, i + 1, "softmem_resume:", pool_id, h_id,
		       "discarded", NULL);
	EXPECT_LE(0, i);
	snprintf(word, sizeof(word), "fd=%d", fd);
	i = find_event(self->ev, n, i + 1, "softmem_export:", pool_id, h_id,
		       word, NULL);
	EXPECT_LE(0, i);
	snprintf(word, sizeof(word), "handle=%llu",
		 (unsigned long long)imported);
	i = find_event(self->ev, n, i + 1, "softmem_import:", region_id,
		       word, NULL);
	EXPECT_LE(0, i);
	i = find_event(self->ev, n, i + 1, "softmem_map:", region_id,
		       "pgoff=1", "pages=2", NULL);
	EXPECT_LE(0, i);
	i = find_event(self->ev, n, i + 1, "softmem_free:", pool_id, h_id,
		       NULL);
	EXPECT_LE(0, i);
	if (_metadata->exit_code)
		for (i = 0; i < n; i++)
			TH_LOG("%s", self->ev[i]);
}

/* A suspended, written region of @pages pages in @pool. */
static uint64_t suspended_region(struct __test_metadata *_metadata, int pool,
				 size_t pages)
{
	uint64_t h;

	EXPECT_EQ(0, region_alloc_filled(pool, pages * page_size(), 5, &h));
	EXPECT_EQ(0, softmem_suspend(pool, h));
	return h;
}

TEST_F(trace, discard_reasons)
{
	size_t page = page_size();
	char word[64];
	pid_t child;
	int n;

	if (!trace_start(_metadata))
		return;

	/* pool_limit: the pool's limit lowered under what it holds. */
	suspended_region(_metadata, self->pool, 16);
	ASSERT_EQ(0, softmem_set_limit(self->pool, 0));

	/* watermark: above the manager's high mark. */
	self->params_changed = true;
	suspended_region(_metadata, self->other, 16);
	ASSERT_EQ(0, set_module_param("manager_low_bytes", 1));
	ASSERT_EQ(0, set_module_param("manager_high_bytes", 2 * page));
	/* The worker runs soon after the write; wait for its discard. */
	ASSERT_TRUE(module_stat_reach("suspended_bytes", 0, &(uint64_t){ 0 }));
	ASSERT_EQ(0, set_module_param("manager_high_bytes", 0));
	ASSERT_EQ(0, set_module_param("manager_low_bytes", 0));

	/* manager: the free-memory threshold above what is available. */
	suspended_region(_metadata, self->other, 16);
	ASSERT_EQ(0, set_module_param("manager_free_bytes",
				      meminfo_bytes("MemTotal")));
	ASSERT_TRUE(module_stat_reach("suspended_bytes", 0, &(uint64_t){ 0 }));
	ASSERT_EQ(0, set_module_param("manager_free_bytes", 0));

	/*
	 * memcg: a child in a cgroup fills it with suspended regions and
	 * then takes anonymous memory past memory.max.
	 */
	if (make_memcg(_metadata, self->cgroup, sizeof(self->cgroup),
		       "softmem-trace", 32 * MiB)) {
		child = fork();
		ASSERT_LE(0, child);
		if (!child) {
			int pool = softmem_open();
			size_t len = 24 * MiB;
			uint64_t h;
			char *anon;
			int i;

			if (pool < 0 || join_cgroup(self->cgroup))
				_exit(1);
			for (i = 0; i < 6; i++) {
				if (region_alloc_filled(pool, 4 * MiB, 1, &h) ||
				    softmem_suspend(pool, h))
					_exit(2);
			}
			anon = mmap(NULL, len, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (anon == MAP_FAILED)
				_exit(3);
			memset(anon, 1, len);
			_exit(0);
		}
		ASSERT_EQ(0, wait_child(child));
	}

	/* shrinker: asked outright. */
	suspended_region(_metadata, self->other, 16);
	ASSERT_EQ(0, drop_caches());

	/* oom: the OOM killer's notifier, before a manual kill. */
	suspended_region(_metadata, self->other, 16);
	ASSERT_LT(0, sysrq_oom_kill_child());
	trace_stop();

	n = trace_events(self->ev, MAX_EVENTS);
	snprintf(word, sizeof(word), "pool=%lld",
		 (long long)fdinfo_field(self->pool, "softmem-pool"));
	EXPECT_LE(0, find_event(self->ev, n, 0, "softmem_discard:", word,
				"reason=pool_limit", NULL));
	EXPECT_LE(0, find_event(self->ev, n, 0, "softmem_discard:",
				"reason=watermark", NULL));
	EXPECT_LE(0, find_event(self->ev, n, 0, "softmem_discard:",
				"reason=manager", NULL));
	if (self->cgroup[0])
		EXPECT_LE(0, find_event(self->ev, n, 0, "softmem_discard:",
					"reason=memcg", NULL));
	EXPECT_LE(0, find_event(self->ev, n, 0, "softmem_discard:",
				"reason=shrinker", NULL));
	EXPECT_LE(0, find_event(self->ev, n, 0, "softmem_discard:",
				"reason=oom", NULL));
}

TEST_F(trace, every_call_site_emits)
{
	unsigned int i;
	int n;

	if (!trace_start(_metadata))
		return;
	ASSERT_EQ(0, fire_every_event(self->pool, self->other));
	trace_stop();
	n = trace_events(self->ev, MAX_EVENTS);
	for (i = 0; i < NR_EVENTS; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s:", event_names[i]);
		EXPECT_LE(0, find_event(self->ev, n, 0, name, NULL))
			TH_LOG("no %s event", event_names[i]);
	}
	EXPECT_LE(0, find_event(self->ev, n, 0, "softmem_resume:", "intact",
				NULL));
	EXPECT_LE(0, find_event(self->ev, n, 0, "softmem_resume:", "discarded",
				NULL));
}

/* Enabled events with tracing off find no room in the buffer. */
TEST_F(trace, tracing_off_records_nothing)
{
	if (!trace_start(_metadata))
		return;
	ASSERT_EQ(0, write_file(TRACEFS "/tracing_on", "0"));
	EXPECT_EQ(0, fire_every_event(self->pool, self->other));
	trace_stop();
	ASSERT_EQ(0, write_file(TRACEFS "/tracing_on", "1"));
	EXPECT_EQ(0, trace_events(self->ev, MAX_EVENTS));
}

/*
 * An enable_event trigger on an event that does not fire here (a module's
 * load) registers each softmem event soft disabled: its probe runs and
 * records nothing.
 */
#define TRIGGER_EVENT	TRACEFS "/events/module/module_load/trigger"

TEST_F(trace, soft_disabled_events_record_nothing)
{
	unsigned int i, set = 0;
	char trigger[96];
	int err = 0;

	if (!trace_start(_metadata))
		return;
	trace_stop();
	if (access(TRIGGER_EVENT, W_OK))
		SKIP(return, "no %s to hang triggers on", TRIGGER_EVENT);
	for (i = 0; i < NR_EVENTS && !err; i++) {
		snprintf(trigger, sizeof(trigger), "enable_event:softmem:%s",
			 event_names[i]);
		err = write_file(TRIGGER_EVENT, trigger);
		set += !err;
	}
	EXPECT_EQ(0, err) TH_LOG("%s: %s", trigger, strerror(-err));
	if (!err) {
		EXPECT_EQ(0, fire_every_event(self->pool, self->other));
		EXPECT_EQ(0, trace_events(self->ev, MAX_EVENTS));
	}
	for (i = 0; i < set; i++) {
		snprintf(trigger, sizeof(trigger), "!enable_event:softmem:%s",
			 event_names[i]);
		write_file(TRIGGER_EVENT, trigger);
	}
}

/*
 * Triggers on every event, with the events on: an unconditional one runs
 * before the event is recorded, a conditional one after; and an event of a
 * task that set_event_pid leaves out is not recorded at all.
 */
TEST_F(trace, triggers_and_pid_filter)
{
	static const char * const triggers[] = {
		"traceon", "traceon if pool > 0",
	};
	char path[128], trigger[64];
	unsigned int i, t;
	int n;

	if (!trace_start(_metadata))
		return;
	for (t = 0; t < 2; t++) {
		for (i = 0; i < NR_EVENTS; i++) {
			snprintf(path, sizeof(path),
				 TRACEFS "/events/softmem/%s/trigger",
				 event_names[i]);
			/* softmem_map has no pool field: no condition. */
			ASSERT_EQ(0, write_file(path, t && i == 6 ?
						triggers[0] : triggers[t]));
		}
		ASSERT_EQ(0, trace_clear());
		EXPECT_EQ(0, fire_every_event(self->pool, self->other));
		n = trace_events(self->ev, MAX_EVENTS);
		EXPECT_LE(0, find_event(self->ev, n, 0, "softmem_alloc:", NULL))
			TH_LOG("%s", triggers[t]);
		for (i = 0; i < NR_EVENTS; i++) {
			snprintf(path, sizeof(path),
				 TRACEFS "/events/softmem/%s/trigger",
				 event_names[i]);
			snprintf(trigger, sizeof(trigger), "!%s",
				 t && i == 6 ? triggers[0] : triggers[t]);
			write_file(path, trigger);
		}
	}

	/* Only init's events: none of this task's is recorded. */
	ASSERT_EQ(0, write_file(TRACEFS "/set_event_pid", "1"));
	ASSERT_EQ(0, trace_clear());
	EXPECT_EQ(0, fire_every_event(self->pool, self->other));
	EXPECT_EQ(0, tracefs_truncate("set_event_pid"));
	trace_stop();
	EXPECT_EQ(0, trace_events(self->ev, MAX_EVENTS));
}

/*
 * perf counts each event this task fires, and only those: a child's go
 * through the probe too, and are not counted.  The events stay on in
 * tracefs meanwhile, so that each call goes to both probes.
 */
TEST_F(trace, perf_counts_each_event)
{
	int fds[NR_EVENTS];
	uint64_t count;
	unsigned int i;
	pid_t child;

	if (!trace_start(_metadata))
		return;
	for (i = 0; i < NR_EVENTS; i++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_TRACEPOINT,
			.size = sizeof(attr),
		};
		char path[128];
		uint64_t id;

		snprintf(path, sizeof(path), TRACEFS "/events/softmem/%s/id",
			 event_names[i]);
		ASSERT_EQ(0, read_u64_file(path, &id));
		attr.config = id;
		fds[i] = syscall(SYS_perf_event_open, &attr, 0, -1, -1,
				 PERF_FLAG_FD_CLOEXEC);
		if (fds[i] < 0) {
			const char *name = event_names[i];
			int err = errno;

			while (i--)
				close(fds[i]);
			SKIP(return, "perf_event_open(%s): %s", name,
			     strerror(err));
		}
	}
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		int pool = softmem_open(), other = softmem_open();

		_exit(pool < 0 || other < 0 ||
		      fire_every_event(pool, other) ? 1 : 0);
	}
	ASSERT_EQ(0, wait_child(child));
	for (i = 0; i < NR_EVENTS; i++) {
		ASSERT_EQ(sizeof(count), read(fds[i], &count, sizeof(count)));
		EXPECT_EQ(0, count) TH_LOG("%s", event_names[i]);
	}
	EXPECT_EQ(0, fire_every_event(self->pool, self->other));
	for (i = 0; i < NR_EVENTS; i++) {
		ASSERT_EQ(sizeof(count), read(fds[i], &count, sizeof(count)));
		EXPECT_LT(0, count) TH_LOG("%s", event_names[i]);
		close(fds[i]);
	}
}

TEST_F(trace, pool_fdinfo_shows_its_counters)
{
	size_t page = page_size();
	char text[64];
	uint64_t a, b;
	int64_t id, other_id;

	id = fdinfo_field(self->pool, "softmem-pool");
	other_id = fdinfo_field(self->other, "softmem-pool");
	ASSERT_LT(0, id);
	EXPECT_LT(id, other_id);	/* in creation order */
	ASSERT_EQ(0, region_alloc_filled(self->pool, 3 * page, 1, &a));
	ASSERT_EQ(0, softmem_alloc(self->pool, 5 * page, &b));
	ASSERT_EQ(0, softmem_suspend(self->pool, a));
	ASSERT_EQ(0, softmem_set_limit(self->pool, 64 * page));

	EXPECT_EQ(2, fdinfo_field(self->pool, "softmem-regions"));
	EXPECT_EQ(8 * page, fdinfo_field(self->pool, "softmem-length-bytes"));
	EXPECT_EQ(3 * page, fdinfo_field(self->pool, "softmem-resident-bytes"));
	EXPECT_EQ(3 * page, fdinfo_field(self->pool, "softmem-suspended-bytes"));
	EXPECT_EQ(64 * page, fdinfo_field(self->pool, "softmem-limit-bytes"));
	EXPECT_EQ(0, fdinfo_field(self->pool, "softmem-discard-events"));
	ASSERT_TRUE(fdinfo_text(self->pool, "softmem-policy", text,
				sizeof(text)));
	EXPECT_STREQ("lru", text);
	EXPECT_EQ(3 * page, fdinfo_field(self->pool,
					 "softmem-node0-resident-bytes") +
			    (!node_exists(1) ? 0 :
			     fdinfo_field(self->pool,
					  "softmem-node1-resident-bytes")));

	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(1, fdinfo_field(self->pool, "softmem-discard-events"));
	EXPECT_EQ(3 * page, fdinfo_field(self->pool, "softmem-discarded-bytes"));
	EXPECT_EQ(0, fdinfo_field(self->other, "softmem-regions"));
	ASSERT_TRUE(fdinfo_text(self->other, "softmem-policy", text,
				sizeof(text)));
	ASSERT_EQ(0, softmem_set_policy(self->other, SOFTMEM_POLICY_FIFO));
	ASSERT_TRUE(fdinfo_text(self->other, "softmem-policy", text,
				sizeof(text)));
	EXPECT_STREQ("fifo", text);
}

TEST_F(trace, region_fdinfo_shows_its_holders)
{
	size_t page = page_size();
	char text[64];
	uint64_t h, h2;
	int fd;

	ASSERT_EQ(0, region_alloc_filled(self->pool, 2 * page, 1, &h));
	fd = softmem_export(self->pool, h, 0);
	ASSERT_LE(0, fd);
	EXPECT_LT(0, fdinfo_field(fd, "softmem-region"));
	EXPECT_EQ(fdinfo_field(self->pool, "softmem-pool"),
		  fdinfo_field(fd, "softmem-pool"));
	EXPECT_EQ(2 * page, fdinfo_field(fd, "softmem-length-bytes"));
	EXPECT_EQ(2 * page, fdinfo_field(fd, "softmem-resident-bytes"));
	EXPECT_EQ(1, fdinfo_field(fd, "softmem-handles"));
	EXPECT_EQ(1, fdinfo_field(fd, "softmem-resumed-handles"));
	EXPECT_EQ(1, fdinfo_field(fd, "softmem-files"));
	ASSERT_TRUE(fdinfo_text(fd, "softmem-state", text, sizeof(text)));
	EXPECT_STREQ("resumed", text);

	ASSERT_EQ(0, softmem_import(self->other, fd, &h2, NULL));
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	EXPECT_EQ(2, fdinfo_field(fd, "softmem-handles"));
	EXPECT_EQ(0, fdinfo_field(fd, "softmem-resumed-handles"));
	ASSERT_TRUE(fdinfo_text(fd, "softmem-state", text, sizeof(text)));
	EXPECT_STREQ("suspended", text);
	ASSERT_EQ(0, drop_caches());
	ASSERT_TRUE(fdinfo_text(fd, "softmem-state", text, sizeof(text)));
	EXPECT_STREQ("discarded", text);
	EXPECT_EQ(0, fdinfo_field(fd, "softmem-resident-bytes"));
	EXPECT_EQ(0, close(fd));
}

TEST_HARNESS_MAIN
