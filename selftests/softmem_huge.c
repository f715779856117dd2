// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_huge: regions backed by huge pages (SOFTMEM_ALLOC_HUGE).
 *
 * Such a region is cut into chunks of the size a PMD maps.  The first
 * write to a chunk backs all of it with one huge folio when the allocator
 * has one, else base pages for what is written; a tail shorter than a chunk
 * is base pages.  The tests check the backing through the pool's counters
 * (resident_bytes, huge_bytes): a partial write, the fallback when memory
 * is too fragmented for a free 2 MiB block, a discard (every folio freed
 * whole, the loss reported), and mappings: the same bytes as READ, SIGBUS
 * after a discard, and PMD mappings on the kernels that make them (6.12 and
 * later, with THP enabled: PAGEMAP_SCAN reports huge entries, and
 * /proc/self/smaps counts none of their pages in Rss, as for any special
 * PMD); elsewhere (6.1, the debug kernel without THP, a misaligned mapping)
 * the folio's pages are mapped with PTEs, which smaps counts in Rss and
 * PAGEMAP_SCAN (where there is one) not as huge.  The fallback under
 * fragmentation fills memory with small regions, or on a kernel with
 * fail_page_alloc (the debug one, too slow to fill) fails the 2 MiB
 * allocations instead.
 */
#include "softmem_test.h"

#include <sys/ioctl.h>
#include <sys/utsname.h>

/* PAGEMAP_SCAN (6.7), for builds against older headers. */
#ifndef PAGEMAP_SCAN
struct page_region {
	uint64_t start;
	uint64_t end;
	uint64_t categories;
};

struct pm_scan_arg {
	uint64_t size;
	uint64_t flags;
	uint64_t start;
	uint64_t end;
	uint64_t walk_end;
	uint64_t vec;
	uint64_t vec_len;
	uint64_t max_pages;
	uint64_t category_inverted;
	uint64_t category_mask;
	uint64_t category_anyof_mask;
	uint64_t return_mask;
};

#define PAGE_IS_PRESENT	(1 << 3)
#define PAGE_IS_HUGE	(1 << 6)
#define PAGEMAP_SCAN	_IOWR('f', 16, struct pm_scan_arg)
#endif

#define RW		(PROT_READ | PROT_WRITE)

#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"

FIXTURE(huge) {
	int pool;
	char thp[16];		/* THP_ENABLED's mode to restore, or "" */
	size_t page;
	size_t chunk;		/* what one PMD maps */
	uint8_t *map;		/* unmapped by the teardown */
	size_t map_length;
};

FIXTURE_SETUP(huge)
{
	SKIP_IF_NO_DEVICE();
	self->page = page_size();
	/* A page of page-table entries maps a PMD's worth. */
	self->chunk = self->page * (self->page / sizeof(uint64_t));
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	ASSERT_EQ(0, map_fault_catch());
	/* Free 2 MiB blocks for the tests that expect huge chunks. */
	drop_caches();
	write_file("/proc/sys/vm/compact_memory", "1");
}

FIXTURE_TEARDOWN(huge)
{
	if (self->map)
		munmap(self->map, self->map_length);
	if (self->thp[0])
		write_file(THP_ENABLED, self->thp);
	if (self->pool > 0)
		softmem_close(self->pool);
}

static uint64_t huge_alloc(struct __test_metadata *_metadata, int pool,
			   uint64_t length)
{
	uint64_t h = 0;
	int ret = softmem_alloc_huge(pool, length, &h);

	EXPECT_EQ(0, ret) TH_LOG("softmem_alloc_huge: %s", err_name(ret));
	return h;
}

static struct softmem_stats stats_of(struct __test_metadata *_metadata,
				     int pool)
{
	struct softmem_stats st;

	memset(&st, 0, sizeof(st));
	EXPECT_EQ(0, pool_stats(pool, &st));
	return st;
}

/*
 * Free blocks of a chunk or more, in every zone (/proc/buddyinfo): some
 * may be in a zone user pages do not come from (x86's ZONE_DMA).
 */
static uint64_t free_huge_blocks(size_t chunk)
{
	unsigned int huge_order = __builtin_ctzl(chunk / page_size());
	FILE *f = fopen("/proc/buddyinfo", "re");
	char line[512], *p, *end;
	uint64_t blocks = 0;
	unsigned int order;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, "zone");
		if (!p)
			continue;
		p += 4;
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')		/* the zone's name */
			p++;
		for (order = 0;; order++) {
			unsigned long n = strtoul(p, &end, 10);

			if (end == p)
				break;
			if (order >= huge_order)
				blocks += n;
			p = end;
		}
	}
	fclose(f);
	return blocks;
}

TEST_F(huge, partial_write_backs_its_chunk_only)
{
	uint64_t tail = 3 * self->chunk, length = tail + self->page;
	uint64_t mid = self->chunk + self->chunk / 2 + 7;
	struct softmem_stats st;
	uint8_t byte = 0x5a, two[2] = { 1, 2 }, *buf;
	uint64_t h, i, module_huge;

	h = huge_alloc(_metadata, self->pool, length);
	st = stats_of(_metadata, self->pool);
	EXPECT_EQ(0, st.resident_bytes);
	EXPECT_EQ(0, st.huge_bytes);

	/* A byte in the middle of chunk 1 backs chunk 1, whole and huge. */
	ASSERT_EQ(0, softmem_write(self->pool, h, mid, &byte, 1));
	st = stats_of(_metadata, self->pool);
	EXPECT_EQ(self->chunk, st.resident_bytes);
	ASSERT_EQ(self->chunk, st.huge_bytes)
		TH_LOG("no huge page for a chunk: %llu free 2 MiB blocks",
		       (unsigned long long)free_huge_blocks(self->chunk));
	EXPECT_EQ(0, module_stat("huge_bytes", &module_huge));
	EXPECT_LE(self->chunk, module_huge);
	EXPECT_EQ((int64_t)self->chunk,
		  fdinfo_field(self->pool, "softmem-huge-bytes"));

	/* The tail, shorter than a chunk, is a base page. */
	ASSERT_EQ(0, softmem_write(self->pool, h, tail + 10, &byte, 1));
	st = stats_of(_metadata, self->pool);
	EXPECT_EQ(self->chunk + self->page, st.resident_bytes);
	EXPECT_EQ(self->chunk, st.huge_bytes);

	/* Two bytes across chunks 0 and 1 back chunk 0 too. */
	ASSERT_EQ(0, softmem_write(self->pool, h, self->chunk - 1, two, 2));
	st = stats_of(_metadata, self->pool);
	EXPECT_EQ(2 * self->chunk + self->page, st.resident_bytes);
	EXPECT_EQ(2 * self->chunk, st.huge_bytes);

	/* Everything unwritten reads as zeros, chunk 2 included. */
	buf = malloc(length);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, softmem_read(self->pool, h, 0, buf, length));
	for (i = 0; i < length; i++) {
		uint8_t want = 0;

		if (i == mid || i == tail + 10)
			want = byte;
		else if (i == self->chunk - 1 || i == self->chunk)
			want = two[i - (self->chunk - 1)];
		if (buf[i] != want) {
			EXPECT_EQ(want, buf[i]) TH_LOG("offset %llu",
						       (unsigned long long)i);
			break;
		}
	}
	free(buf);
	/* Chunk 2 is still unbacked. */
	EXPECT_EQ(2 * self->chunk + self->page,
		  stats_of(_metadata, self->pool).resident_bytes);

	ASSERT_EQ(0, softmem_free(self->pool, h));
	st = stats_of(_metadata, self->pool);
	EXPECT_EQ(0, st.resident_bytes);
	EXPECT_EQ(0, st.huge_bytes);
}

TEST_F(huge, discard_frees_whole_folios)
{
	uint64_t length = 4 * self->chunk, h;
	struct softmem_stats st, before;

	h = huge_alloc(_metadata, self->pool, length);
	ASSERT_EQ(0, region_write_pattern(self->pool, h, 0, length, 3));
	st = stats_of(_metadata, self->pool);
	EXPECT_EQ(length, st.resident_bytes);
	ASSERT_EQ(length, st.huge_bytes);

	before = st;
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(0, drop_caches());
	st = stats_of(_metadata, self->pool);
	EXPECT_EQ(0, st.resident_bytes);
	EXPECT_EQ(0, st.huge_bytes);
	EXPECT_EQ(0, st.suspended_bytes);
	EXPECT_EQ(before.discarded_bytes + length, st.discarded_bytes);
	EXPECT_EQ(before.discard_events + 1, st.discard_events);
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, length, REGION_ZERO));
	EXPECT_EQ(0, stats_of(_metadata, self->pool).resident_bytes);
	/* Written again, a chunk is huge again. */
	ASSERT_EQ(0, region_write_pattern(self->pool, h, self->chunk,
					  self->page, 4));
	st = stats_of(_metadata, self->pool);
	EXPECT_EQ(self->chunk, st.resident_bytes);
	EXPECT_EQ(self->chunk, st.huge_bytes);
}

/* Pages per region of the hog: every other region is freed. */
#define HOG_PAGES	4

/*
 * Memory with no free block of a chunk: its pages taken by small regions of
 * @hog (softmem pages cannot be moved by compaction) down to the reserve
 * the kernel keeps, every other small region freed, and then the blocks
 * still free (those the watermarks kept back while memory was short, too)
 * taken by a huge region of @hog until its chunks fall back to base pages.
 * Returns the free blocks of a chunk left, which the allocator refuses.
 */
static uint64_t fragment_memory(struct __test_metadata *_metadata, int hog,
				size_t chunk)
{
	uint64_t reserve = high_watermarks(-1) + 16 * MiB, n = 0, i, h;
	uint64_t *handles = NULL, cap = 0;
	uint8_t byte = 1, *fill = calloc(HOG_PAGES, page_size());

	while (free_huge_blocks(chunk) &&
	       meminfo_bytes("MemFree") > reserve) {
		for (i = 0; i < 256; i++, n++) {
			if (n == cap) {
				cap = cap ? 2 * cap : 65536;
				handles = realloc(handles,
						  cap * sizeof(*handles));
				if (!handles)
					return ~0ULL;
			}
			if (!fill ||
			    softmem_alloc(hog, HOG_PAGES * page_size(), &h) ||
			    softmem_write(hog, h, 0, fill,
					  HOG_PAGES * page_size()))
				goto full;
			handles[n] = h;
		}
	}
full:
	for (i = 0; i < n; i += 2)
		softmem_free(hog, handles[i]);
	free(handles);
	free(fill);
	if (!softmem_alloc_huge(hog, 128 * chunk, &h)) {
		struct softmem_stats st = { 0 };
		uint64_t grabbed = 0, misses = 0;

		/* Until several chunks in a row fall back. */
		for (i = 0; i < 128 && misses < 4; i++) {
			if (softmem_write(hog, h, i * chunk, &byte, 1) ||
			    pool_stats(hog, &st))
				break;
			misses = st.huge_bytes == grabbed ? misses + 1 : 0;
			grabbed = st.huge_bytes;
		}
		TH_LOG("hog: %llu huge chunks",
		       (unsigned long long)(grabbed / chunk));
	}
	TH_LOG("hog: %llu pages, half freed; MemFree %llu MiB",
	       (unsigned long long)n * HOG_PAGES,
	       (unsigned long long)(meminfo_bytes("MemFree") / MiB));
	return free_huge_blocks(chunk);
}

#define FAIL_PAGE_ALLOC	DEBUGFS_ROOT "/fail_page_alloc"

/*
 * With fault injection (the debug kernel), every allocation of a chunk or
 * more by this task fails, silently, as on memory with no free block: the
 * same fallback, without filling memory (too slow there).  Restores the
 * knobs when @on is false.  Whether injection is available.
 */
static bool fail_huge_allocs(size_t chunk, bool on)
{
	static const char * const knobs[] = {
		"probability", "interval", "times", "min-order", "verbose",
		"task-filter", "ignore-gfp-wait", "ignore-gfp-highmem",
	};
	static char saved[8][32];
	char order[16], path[128];
	const char *want[8] = {
		"100", "1", "-1", order, "0", "Y", "N", "N",
	};
	size_t i;

	if (ensure_debugfs() || access(FAIL_PAGE_ALLOC, F_OK))
		return false;
	snprintf(order, sizeof(order), "%d",
		 __builtin_ctzl(chunk / page_size()));
	for (i = 0; i < 8; i++) {
		snprintf(path, sizeof(path), FAIL_PAGE_ALLOC "/%s", knobs[i]);
		if (on) {
			read_file(path, saved[i], sizeof(saved[i]));
			saved[i][strcspn(saved[i], "\n")] = '\0';
		}
		write_file(path, on ? want[i] : saved[i]);
	}
	write_file("/proc/self/make-it-fail", on ? "1" : "0");
	return true;
}

/* Filling memory takes a while under TCG. */
TEST_F_TIMEOUT(huge, fallback_to_base_pages_under_fragmentation, 300)
{
	uint64_t length = 2 * self->chunk + self->chunk / 2, h, left;
	uint64_t max_bytes = 0, pool_max_bytes, extfrag = 0, proactive;
	bool injected = fail_huge_allocs(self->chunk, true);
	struct softmem_stats st;
	int hog = -1;

	if (injected) {
		TH_LOG("fail_page_alloc fails every 2 MiB allocation");
		goto fragmented;
	}

	/*
	 * No compaction: it would move other pages (this test's, the page
	 * cache) into the hog's holes and free a block after all.  An
	 * allocation that fails for fragmentation has an index near 1000.
	 */
	ASSERT_EQ(0, read_u64_file("/proc/sys/vm/extfrag_threshold",
				   &extfrag));
	ASSERT_EQ(0, read_u64_file("/proc/sys/vm/compaction_proactiveness",
				   &proactive));
	ASSERT_EQ(0, write_u64_file("/proc/sys/vm/extfrag_threshold", 1000));
	ASSERT_EQ(0, write_u64_file("/proc/sys/vm/compaction_proactiveness",
				    0));
	/* The hog may take all memory: lift the caps (half of RAM). */
	ASSERT_EQ(0, module_param("max_bytes", &max_bytes));
	ASSERT_EQ(0, module_param("pool_max_bytes", &pool_max_bytes));
	ASSERT_EQ(0, set_module_param("max_bytes", 1ULL << 40));
	ASSERT_EQ(0, set_module_param("pool_max_bytes", 1ULL << 40));
	hog = softmem_open();
	ASSERT_LE(0, hog);
	left = fragment_memory(_metadata, hog, self->chunk);
	set_module_param("pool_max_bytes", pool_max_bytes);
	write_u64_file("/proc/sys/vm/compaction_proactiveness", proactive);
	/* Blocks under the watermarks may show, and not be given out. */
	TH_LOG("%llu free 2 MiB blocks left", (unsigned long long)left);
fragmented:

	h = huge_alloc(_metadata, self->pool, length);
	/* Half of chunk 0, and all of chunks 1 and 2. */
	ASSERT_EQ(0, region_write_pattern(self->pool, h, self->chunk / 2,
					  length - self->chunk / 2, 5));
	st = stats_of(_metadata, self->pool);
	if (injected)
		fail_huge_allocs(self->chunk, false);
	else
		write_u64_file("/proc/sys/vm/extfrag_threshold", extfrag);
	if (st.huge_bytes) {
		if (hog >= 0) {
			softmem_close(hog);
			set_module_param("max_bytes", max_bytes);
		}
		SKIP(return, "the allocator still had a free 2 MiB block");
	}
	EXPECT_EQ(length - self->chunk / 2, st.resident_bytes);
	EXPECT_EQ(1, region_matches(self->pool, h, 0, self->chunk / 2,
				    REGION_ZERO));
	EXPECT_EQ(1, region_matches(self->pool, h, self->chunk / 2,
				    length - self->chunk / 2, 5));

	/* A base chunk stays base, however much memory comes back. */
	if (hog >= 0) {
		softmem_close(hog);
		/* Only now: the hog may hold more than the module's cap. */
		set_module_param("max_bytes", max_bytes);
	}
	write_file("/proc/sys/vm/compact_memory", "1");
	ASSERT_EQ(0, region_write_pattern(self->pool, h, 0, self->chunk / 2,
					  5));
	st = stats_of(_metadata, self->pool);
	EXPECT_EQ(0, st.huge_bytes);
	EXPECT_EQ(length, st.resident_bytes);
	EXPECT_EQ(1, region_matches(self->pool, h, 0, length, 5));

	/* Discarded, it is backed anew: huge now that memory is free. */
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));
	ASSERT_EQ(0, region_write_pattern(self->pool, h, 0, length, 6));
	st = stats_of(_metadata, self->pool);
	EXPECT_EQ(2 * self->chunk, st.huge_bytes);
	EXPECT_EQ(length, st.resident_bytes);
}

/* --- mappings ------------------------------------------------------------ */

static void map_region(struct __test_metadata *_metadata,
		       FIXTURE_DATA(huge) *self, uint64_t h, uint64_t offset,
		       size_t length)
{
	void *addr = NULL;
	int ret;

	ASSERT_EQ(NULL, self->map);
	ret = softmem_map(self->pool, h, offset, length, RW, &addr);
	ASSERT_EQ(0, ret) TH_LOG("softmem_map: %s", err_name(ret));
	self->map = addr;
	self->map_length = length;
}

/*
 * PMD mappings follow THP_ENABLED as for files: "always", or "madvise" with
 * MADV_HUGEPAGE on the mapping.  A guest under 512 MiB starts at "never":
 * make it "madvise" for the test.
 */
static void thp_madvise(struct __test_metadata *_metadata,
			FIXTURE_DATA(huge) *self)
{
	char buf[128], *open, *close;

	if (read_file(THP_ENABLED, buf, sizeof(buf)) < 0 ||
	    !strstr(buf, "[never]"))
		return;
	open = strchr(buf, '[');
	close = strchr(buf, ']');
	snprintf(self->thp, sizeof(self->thp), "%.*s",
		 (int)(close - open - 1), open + 1);
	EXPECT_EQ(0, write_file(THP_ENABLED, "madvise"));
}

/* MADV_HUGEPAGE, which fails on a kernel without THP (the debug one). */
static void madvise_huge(struct __test_metadata *_metadata, void *addr,
			 size_t length)
{
	if (access(THP_ENABLED, F_OK))
		return;
	EXPECT_EQ(0, madvise(addr, length, MADV_HUGEPAGE));
}

/*
 * Whether this kernel maps huge chunks with PMDs: 6.12 and later, with
 * transparent huge pages not disabled.
 */
static bool kernel_maps_pmds(void)
{
	struct utsname u;
	unsigned int major = 0, minor = 0;
	char buf[128];

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	if (major < 6 || (major == 6 && minor < 12))
		return false;
	if (read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf,
		      sizeof(buf)) < 0)
		return false;
	return !strstr(buf, "[never]");
}

/*
 * Bytes of [@addr, @addr + @length) mapped by huge entries, from
 * PAGEMAP_SCAN; -errno where the kernel lacks it (before 6.7).
 */
static int64_t huge_mapped_bytes(void *addr, size_t length)
{
	struct page_region vec[64];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = (uintptr_t)addr,
		.end = (uintptr_t)addr + length,
		.vec = (uintptr_t)vec,
		.vec_len = 64,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_HUGE,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_HUGE,
	};
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int64_t bytes = 0;
	long i, n;

	if (fd < 0)
		return -errno;
	n = ioctl(fd, PAGEMAP_SCAN, &arg);
	if (n < 0)
		bytes = -errno;
	close(fd);
	for (i = 0; i < n; i++)
		if (vec[i].categories & PAGE_IS_HUGE)
			bytes += vec[i].end - vec[i].start;
	return bytes;
}

/* Field @key of the /proc/self/smaps entry of @addr, in bytes, or -1. */
static int64_t smaps_bytes(void *addr, const char *key)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	unsigned long start, end, kb;
	size_t len = strlen(key);
	bool in = false;
	int64_t value = -1;
	char line[512];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)addr >= start && (uintptr_t)addr < end;
			continue;
		}
		if (in && !strncmp(line, key, len) && line[len] == ':' &&
		    sscanf(line + len + 1, "%lu", &kb) == 1) {
			value = (int64_t)kb * 1024;
			break;
		}
	}
	fclose(f);
	return value;
}

/*
 * Check how [@map, @map + @length), all touched, is mapped: with PMDs if
 * @pmds, else with PTEs.
 */
static void check_mapped(struct __test_metadata *_metadata, uint8_t *map,
			 size_t length, bool pmds)
{
	int64_t huge = huge_mapped_bytes(map, length);
	int64_t rss = smaps_bytes(map, "Rss");
	int64_t pmd_mapped = smaps_bytes(map, "FilePmdMapped");

	TH_LOG("PAGEMAP_SCAN huge %lld, smaps Rss %lld FilePmdMapped %lld",
	       (long long)huge, (long long)rss, (long long)pmd_mapped);
	if (pmds) {
		/* Special PMDs: smaps counts no page of them in Rss. */
		EXPECT_EQ((int64_t)length, huge);
		EXPECT_EQ(0, rss);
		return;
	}
	if (huge >= 0)
		EXPECT_EQ(0, huge);
	/* PTEs of the folio's pages: counted page by page, no PMD. */
	EXPECT_EQ((int64_t)length, rss);
	EXPECT_EQ(0, pmd_mapped);
}

TEST_F(huge, mapping_shows_the_same_bytes_with_pmds)
{
	uint64_t length = 2 * self->chunk, h;
	bool pmds;
	struct map_fault fault;
	uint8_t *buf, byte = 0;

	h = huge_alloc(_metadata, self->pool, length);
	ASSERT_EQ(0, region_write_pattern(self->pool, h, 0, self->chunk, 7));
	thp_madvise(_metadata, self);
	pmds = kernel_maps_pmds();
	map_region(_metadata, self, h, 0, length);
	madvise_huge(_metadata, self->map, length);
	if (pmds && (uintptr_t)self->map % self->chunk) {
		TH_LOG("mapping at %p, not chunk-aligned: PTEs", self->map);
		pmds = false;
	}

	/* Chunk 0 written by WRITE, chunk 1 first written by a store. */
	buf = malloc(length);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, map_copy(buf, self->map, self->chunk, &fault));
	pattern_fill(buf + self->chunk, self->chunk, self->chunk, 8);
	ASSERT_EQ(0, map_copy(self->map + self->chunk, buf + self->chunk,
			      self->chunk, &fault));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, self->chunk, 7));
	EXPECT_EQ(1, region_matches(self->pool, h, self->chunk, self->chunk,
				    8));
	EXPECT_EQ(length, stats_of(_metadata, self->pool).huge_bytes);
	check_mapped(_metadata, self->map, length, pmds);

	/* A discard unmaps it: SIGBUS until a resume, then fresh zeros. */
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SIGBUS, map_copy(&byte, self->map + self->chunk + 5, 1,
				   &fault));
	EXPECT_EQ(self->map + self->chunk + 5, fault.addr);
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));
	ASSERT_EQ(0, map_copy(buf, self->map, length, &fault));
	for (size_t i = 0; i < length; i++)
		if (buf[i]) {
			EXPECT_EQ(0, buf[i]) TH_LOG("offset %zu", i);
			break;
		}
	EXPECT_EQ(length, stats_of(_metadata, self->pool).huge_bytes);
	check_mapped(_metadata, self->map, length, pmds);
	free(buf);
}

/*
 * A mapping at a region offset that is not a chunk's still maps the chunks
 * it holds whole with PMDs: mmap() places it so that they are aligned.
 */
TEST_F(huge, mapping_from_an_inner_offset_maps_whole_chunks)
{
	uint64_t length = 3 * self->chunk, h;
	size_t map_length = 2 * self->chunk;
	struct map_fault fault;
	bool pmds;
	uint8_t *buf;

	h = huge_alloc(_metadata, self->pool, length);
	ASSERT_EQ(0, region_write_pattern(self->pool, h, 0, length, 9));
	EXPECT_EQ(length, stats_of(_metadata, self->pool).huge_bytes);
	thp_madvise(_metadata, self);
	pmds = kernel_maps_pmds();
	map_region(_metadata, self, h, self->page, map_length);
	madvise_huge(_metadata, self->map, map_length);
	buf = malloc(map_length);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, map_copy(buf, self->map, map_length, &fault));
	for (size_t i = 0; i < map_length; i++)
		if (buf[i] != pattern_byte(self->page + i, 9)) {
			EXPECT_EQ(pattern_byte(self->page + i, 9), buf[i]);
			break;
		}
	free(buf);
	/* Chunk 1 with a PMD, the pages of chunks 0 and 2 with PTEs. */
	if (pmds) {
		EXPECT_EQ((int64_t)self->chunk,
			  huge_mapped_bytes(self->map, map_length));
		EXPECT_EQ((int64_t)(map_length - self->chunk),
			  smaps_bytes(self->map, "Rss"));
	} else {
		check_mapped(_metadata, self->map, map_length, false);
	}
}

/*
 * A mapping placed where no chunk is PMD-aligned (MAP_FIXED a page past a
 * chunk boundary) maps the folios' pages with PTEs.
 */
TEST_F(huge, misaligned_mapping_maps_ptes)
{
	uint64_t length = 2 * self->chunk, h;
	size_t reserve = length + 2 * self->chunk;
	struct map_fault fault;
	uint8_t *base, *map, *buf;
	int fd;

	h = huge_alloc(_metadata, self->pool, length);
	ASSERT_EQ(0, region_write_pattern(self->pool, h, 0, length, 10));
	thp_madvise(_metadata, self);
	base = mmap(NULL, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, base);
	self->map = base;
	self->map_length = reserve;
	map = (uint8_t *)(((uintptr_t)base + self->chunk - 1) &
			  ~(uintptr_t)(self->chunk - 1)) + self->page;
	fd = softmem_export(self->pool, h, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(map, mmap(map, length, RW, MAP_SHARED | MAP_FIXED, fd, 0));
	close(fd);
	madvise_huge(_metadata, map, length);
	buf = malloc(length);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, map_copy(buf, map, length, &fault));
	for (size_t i = 0; i < length; i++)
		if (buf[i] != pattern_byte(i, 10)) {
			EXPECT_EQ(pattern_byte(i, 10), buf[i]);
			break;
		}
	free(buf);
	check_mapped(_metadata, map, length, false);
}

/*
 * Under a pool limit of @limit, a suspended region of @kept bytes (pattern 5)
 * in *@other, then a huge region whose pages 1-3 are written (pattern 6):
 * returns the huge region's stats.
 */
static struct softmem_stats write_beside_suspended(struct __test_metadata *_metadata,
						    FIXTURE_DATA(huge) *self,
						    uint64_t limit, uint64_t kept,
						    uint64_t *other)
{
	uint64_t h;

	EXPECT_EQ(0, softmem_set_limit(self->pool, limit));
	EXPECT_EQ(0, region_alloc_filled(self->pool, kept, 5, other));
	EXPECT_EQ(0, softmem_suspend(self->pool, *other));
	h = huge_alloc(_metadata, self->pool, 2 * self->chunk);
	EXPECT_EQ(0, region_write_pattern(self->pool, h, self->page,
					  3 * self->page, 6));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, self->page, REGION_ZERO));
	EXPECT_EQ(1, region_matches(self->pool, h, self->page, 3 * self->page,
				    6));
	return stats_of(_metadata, self->pool);
}

/*
 * A pool limit below a chunk: no huge folio can be charged, and the write
 * is backed by base pages, within the limit.  The pool's own suspended
 * region is not discarded for a huge folio that could not fit anyway (nor
 * for one that could: huge folios are never worth it), and the base pages
 * fit beside it.
 */
TEST_F(huge, limit_below_a_chunk_backs_base_pages)
{
	uint64_t other;
	struct softmem_stats st;

	st = write_beside_suspended(_metadata, self, self->chunk / 2,
				    8 * self->page, &other);
	EXPECT_EQ(0, st.huge_bytes);
	EXPECT_EQ(11 * self->page, st.resident_bytes);
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, other));
	EXPECT_EQ(1, region_matches(self->pool, other, 0, 8 * self->page, 5));
}

/*
 * A pool limit that a huge folio fits only once the pool's own suspended
 * region is discarded: the write takes base pages instead, and the
 * suspended region keeps its data.
 */
TEST_F(huge, suspended_regions_kept_rather_than_a_huge_folio)
{
	uint64_t kept = self->chunk / 4 * 3, other;
	struct softmem_stats st;

	st = write_beside_suspended(_metadata, self, self->chunk / 2 * 3, kept,
				    &other);
	EXPECT_EQ(0, st.huge_bytes);
	EXPECT_EQ(kept + 3 * self->page, st.resident_bytes);
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, other));
	EXPECT_EQ(1, region_matches(self->pool, other, 0, kept, 5));
}

TEST_HARNESS_MAIN
