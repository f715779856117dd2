// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_abi: the size-extensible ioctl structs.
 *
 * For every command: a struct smaller than its minimum is EINVAL; the minimum
 * and larger structs with a zero tail work; a nonzero tail is E2BIG; unknown
 * flags are EINVAL; bad struct pointers are EFAULT; the kernel writes no byte
 * past @size; and a failed call changes nothing (nor leaves a descriptor
 * behind).  Then reserved fields and unknown ioctl numbers.
 */
#include "softmem_test.h"

#define REGION_PAGES	2
#define DATA_LENGTH	64
/* Room for the largest struct, a 4 KiB tail and a guard. */
#define ARG_BUFFER	(3 * 4096)
#define SENTINEL	0xa5

FIXTURE(abi) {
	int pool;
	size_t page;
	uint64_t region;	/* pattern 1, resumed */
	uint64_t other;		/* pattern 2, resumed */
	uint8_t data[DATA_LENGTH];
	uint8_t *arg;		/* ARG_BUFFER bytes */
	int export_fd;		/* of region, for IMPORT; made when needed */
	struct softmem_batch_entry entry;	/* for BATCH */
};

typedef void (*abi_prepare_fn)(struct __test_metadata *_metadata,
			       FIXTURE_DATA(abi) *self, void *arg);

FIXTURE_VARIANT(abi) {
	unsigned long request;
	size_t struct_size;
	size_t min_size;
	uint32_t valid_flags;
	bool has_output;	/* writes results into the struct */
	abi_prepare_fn prepare;	/* fills a valid struct of struct_size */
};

FIXTURE_SETUP(abi)
{
	self->export_fd = -1;
	SKIP_IF_NO_DEVICE();
	self->page = page_size();
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	ASSERT_EQ(0, region_alloc_filled(self->pool, REGION_PAGES * self->page,
					 1, &self->region));
	ASSERT_EQ(0, region_alloc_filled(self->pool, REGION_PAGES * self->page,
					 2, &self->other));
	pattern_fill(self->data, DATA_LENGTH, 0, 3);
	self->arg = mmap(NULL, ARG_BUFFER, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->arg);
}

FIXTURE_TEARDOWN(abi)
{
	if (self->export_fd >= 0)
		close(self->export_fd);
	if (self->pool > 0)
		softmem_close(self->pool);
}

static void prepare_alloc(struct __test_metadata *_metadata,
			  FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_alloc *arg = p;

	arg->length = self->page;
}

static void prepare_free(struct __test_metadata *_metadata,
			 FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_free *arg = p;
	uint64_t handle;

	ASSERT_EQ(0, softmem_alloc(self->pool, self->page, &handle));
	arg->handle = handle;
}

static void prepare_suspend(struct __test_metadata *_metadata,
			    FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_suspend *arg = p;

	arg->handle = self->region;
}

static void prepare_resume(struct __test_metadata *_metadata,
			   FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_resume *arg = p;

	arg->handle = self->region;
}

static void prepare_rw(struct __test_metadata *_metadata,
		       FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_rw *arg = p;

	arg->handle = self->region;
	arg->offset = self->page - DATA_LENGTH / 2;
	arg->length = DATA_LENGTH;
	arg->addr = (uintptr_t)self->data;
}

static void prepare_copy(struct __test_metadata *_metadata,
			 FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_copy *arg = p;

	arg->dst_handle = self->other;
	arg->dst_offset = 8;
	arg->src_handle = self->region;
	arg->src_offset = self->page;
	arg->length = DATA_LENGTH;
}

static void prepare_set(struct __test_metadata *_metadata,
			FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_set *arg = p;

	arg->handle = self->region;
	arg->offset = 4;
	arg->length = DATA_LENGTH;
	arg->value = 0x11;
}

static void prepare_compare(struct __test_metadata *_metadata,
			    FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_compare *arg = p;

	arg->handle = self->region;
	arg->other_handle = self->other;
	arg->length = DATA_LENGTH;
}

static void prepare_find(struct __test_metadata *_metadata,
			 FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_find *arg = p;

	arg->handle = self->region;
	arg->length = DATA_LENGTH;
	arg->value = pattern_byte(10, 1);
}

static void prepare_stats(struct __test_metadata *_metadata,
			  FIXTURE_DATA(abi) *self, void *p)
{
}

static void prepare_configure(struct __test_metadata *_metadata,
			      FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_configure *arg = p;
	uint64_t pool_max;

	ASSERT_EQ(0, module_param("pool_max_bytes", &pool_max));
	arg->flags = SOFTMEM_CONFIGURE_LIMIT;
	arg->limit_bytes = pool_max < 64 * MiB ? pool_max : 64 * MiB;
}

static void prepare_node_stats(struct __test_metadata *_metadata,
			       FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_node_stats *arg = p;

	arg->node = 0;
}

static void prepare_set_priority(struct __test_metadata *_metadata,
				 FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_set_priority *arg = p;

	arg->handle = self->region;
	arg->priority = 1;
}

static void prepare_export(struct __test_metadata *_metadata,
			   FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_export *arg = p;

	arg->handle = self->region;
}

static void prepare_import(struct __test_metadata *_metadata,
			   FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_import *arg = p;

	if (self->export_fd < 0) {
		self->export_fd = softmem_export(self->pool, self->region, 0);
		ASSERT_LE(0, self->export_fd);
	}
	arg->fd = self->export_fd;
}

/* One entry: suspend the region. */
static void prepare_batch(struct __test_metadata *_metadata,
			  FIXTURE_DATA(abi) *self, void *p)
{
	struct softmem_batch *arg = p;

	self->entry = (struct softmem_batch_entry) {
		.handle = self->region, .op = SOFTMEM_BATCH_SUSPEND,
	};
	arg->entries = (uintptr_t)&self->entry;
	arg->count = 1;
	arg->entry_size = sizeof(self->entry);
}

#define ABI_VARIANT(name, req, type, min, flags, output)		\
	FIXTURE_VARIANT_ADD(abi, name) {				\
		.request = req,						\
		.struct_size = sizeof(type),				\
		.min_size = min,					\
		.valid_flags = flags,					\
		.has_output = output,					\
		.prepare = prepare_##name,				\
	}

#define prepare_read	prepare_rw
#define prepare_write	prepare_rw
#define prepare_move	prepare_copy

ABI_VARIANT(alloc, SOFTMEM_IOC_ALLOC, struct softmem_alloc,
	    sizeof(struct softmem_alloc), SOFTMEM_ALLOC_VALID_FLAGS, true);
ABI_VARIANT(free, SOFTMEM_IOC_FREE, struct softmem_free,
	    sizeof(struct softmem_free), 0, false);
ABI_VARIANT(suspend, SOFTMEM_IOC_SUSPEND, struct softmem_suspend,
	    sizeof(struct softmem_suspend), 0, false);
ABI_VARIANT(resume, SOFTMEM_IOC_RESUME, struct softmem_resume,
	    offsetofend(struct softmem_resume, state), 0, true);
ABI_VARIANT(read, SOFTMEM_IOC_READ, struct softmem_rw,
	    sizeof(struct softmem_rw), 0, false);
ABI_VARIANT(write, SOFTMEM_IOC_WRITE, struct softmem_rw,
	    sizeof(struct softmem_rw), 0, false);
ABI_VARIANT(copy, SOFTMEM_IOC_COPY, struct softmem_copy,
	    sizeof(struct softmem_copy), 0, false);
ABI_VARIANT(move, SOFTMEM_IOC_MOVE, struct softmem_copy,
	    sizeof(struct softmem_copy), 0, false);
ABI_VARIANT(set, SOFTMEM_IOC_SET, struct softmem_set,
	    offsetofend(struct softmem_set, value), 0, false);
ABI_VARIANT(compare, SOFTMEM_IOC_COMPARE, struct softmem_compare,
	    offsetofend(struct softmem_compare, result),
	    SOFTMEM_COMPARE_VALID_FLAGS, true);
ABI_VARIANT(find, SOFTMEM_IOC_FIND, struct softmem_find,
	    offsetofend(struct softmem_find, position), 0, true);
ABI_VARIANT(stats, SOFTMEM_IOC_STATS, struct softmem_stats,
	    offsetofend(struct softmem_stats, discard_events), 0, true);
ABI_VARIANT(configure, SOFTMEM_IOC_CONFIGURE, struct softmem_configure,
	    offsetofend(struct softmem_configure, limit_bytes),
	    SOFTMEM_CONFIGURE_VALID_FLAGS, false);
ABI_VARIANT(node_stats, SOFTMEM_IOC_NODE_STATS, struct softmem_node_stats,
	    sizeof(struct softmem_node_stats), 0, true);
ABI_VARIANT(set_priority, SOFTMEM_IOC_SET_PRIORITY,
	    struct softmem_set_priority,
	    offsetofend(struct softmem_set_priority, priority), 0, false);
/* Both new: everything but a trailing reserved field is needed. */
ABI_VARIANT(export, SOFTMEM_IOC_EXPORT, struct softmem_export,
	    offsetofend(struct softmem_export, fd), SOFTMEM_EXPORT_VALID_FLAGS,
	    true);
ABI_VARIANT(import, SOFTMEM_IOC_IMPORT, struct softmem_import,
	    offsetofend(struct softmem_import, length), 0, true);
ABI_VARIANT(batch, SOFTMEM_IOC_BATCH, struct softmem_batch,
	    offsetofend(struct softmem_batch, done), 0, true);

/* What a failed call must leave alone. */
struct abi_snapshot {
	struct softmem_stats stats;
	int next_fd;		/* no descriptor was made */
	uint8_t region[REGION_PAGES * 4096];
	uint8_t other[REGION_PAGES * 4096];
};

static void take_snapshot(struct __test_metadata *_metadata,
			  FIXTURE_DATA(abi) *self, struct abi_snapshot *snap)
{
	size_t length = REGION_PAGES * self->page;

	if (length > sizeof(snap->region))
		length = sizeof(snap->region);
	memset(snap, 0, sizeof(*snap));
	ASSERT_EQ(0, pool_stats(self->pool, &snap->stats));
	snap->next_fd = lowest_free_fd();
	ASSERT_LE(0, snap->next_fd);
	ASSERT_EQ(0, softmem_read(self->pool, self->region, 0, snap->region,
				  length));
	ASSERT_EQ(0, softmem_read(self->pool, self->other, 0, snap->other,
				  length));
}

static void check_unchanged(struct __test_metadata *_metadata,
			    FIXTURE_DATA(abi) *self,
			    const struct abi_snapshot *before)
{
	struct abi_snapshot *after = malloc(sizeof(*after));

	ASSERT_NE(NULL, after);
	take_snapshot(_metadata, self, after);
	EXPECT_EQ(before->stats.regions, after->stats.regions);
	EXPECT_EQ(before->stats.length_bytes, after->stats.length_bytes);
	EXPECT_EQ(before->stats.resident_bytes, after->stats.resident_bytes);
	EXPECT_EQ(before->stats.suspended_bytes, after->stats.suspended_bytes);
	EXPECT_EQ(before->stats.discard_events, after->stats.discard_events);
	EXPECT_EQ(before->stats.limit_bytes, after->stats.limit_bytes);
	EXPECT_EQ(before->next_fd, after->next_fd);
	EXPECT_EQ(0, memcmp(before->region, after->region,
			    sizeof(after->region)));
	EXPECT_EQ(0, memcmp(before->other, after->other,
			    sizeof(after->other)));
	free(after);
}

/*
 * Lay out a valid struct at @arg with size field @size: the first
 * min(@size, struct_size) bytes from the prepared struct, zeros up to @size,
 * SENTINEL after it up to the end of the buffer.
 */
static void *build_arg(struct __test_metadata *_metadata,
		       FIXTURE_DATA(abi) *self,
		       const FIXTURE_VARIANT(abi) *variant,
		       uint8_t *arg, size_t size)
{
	uint8_t full[256] = { 0 };
	size_t head = size < variant->struct_size ? size : variant->struct_size;

	ASSERT_LE(variant->struct_size, sizeof(full));
	ASSERT_LE(arg + size, self->arg + ARG_BUFFER);
	variant->prepare(_metadata, self, full);
	memset(arg, SENTINEL, self->arg + ARG_BUFFER - arg);
	memcpy(arg, full, head);
	if (size > head)
		memset(arg + head, 0, size - head);
	((struct softmem_free *)arg)->size = size;
	return arg;
}

static bool sentinel_intact(const uint8_t *from, const uint8_t *to)
{
	for (; from < to; from++)
		if (*from != SENTINEL)
			return false;
	return true;
}

/* The descriptor a successful EXPORT left in @arg: open, close-on-exec. */
static void close_exported(struct __test_metadata *_metadata, const void *arg)
{
	int fd = ((const struct softmem_export *)arg)->fd;

	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC)
		TH_LOG("exported fd %d", fd);
	EXPECT_EQ(0, close(fd));
}

/* Issue the command with a valid struct of @size bytes; expect @want. */
static void call_with_size(struct __test_metadata *_metadata,
			   FIXTURE_DATA(abi) *self,
			   const FIXTURE_VARIANT(abi) *variant,
			   size_t size, int want)
{
	uint8_t *arg = build_arg(_metadata, self, variant, self->arg, size);
	int ret = softmem_raw_ioctl(self->pool, variant->request, arg);

	EXPECT_EQ(want, ret) TH_LOG("size %zu", size);
	if (!ret && variant->request == SOFTMEM_IOC_EXPORT)
		close_exported(_metadata, arg);
	EXPECT_TRUE(sentinel_intact(arg + size, self->arg + ARG_BUFFER))
		TH_LOG("kernel wrote past size %zu", size);
	EXPECT_EQ(size, ((struct softmem_free *)arg)->size);
}

TEST_F(abi, below_minimum_size_einval)
{
	size_t sizes[] = { 0, 4, 8, variant->min_size - 4,
			   variant->min_size - 1 };
	struct abi_snapshot *before = malloc(sizeof(*before));
	size_t i;

	ASSERT_NE(NULL, before);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		build_arg(_metadata, self, variant, self->arg, sizes[i]);
		take_snapshot(_metadata, self, before);
		EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool,
						     variant->request,
						     self->arg))
			TH_LOG("size %zu", sizes[i]);
		check_unchanged(_metadata, self, before);
	}
	free(before);
}

TEST_F(abi, minimum_size_accepted)
{
	call_with_size(_metadata, self, variant, variant->min_size, 0);
}

TEST_F(abi, exact_size_accepted)
{
	call_with_size(_metadata, self, variant, variant->struct_size, 0);
}

TEST_F(abi, larger_zero_tail_8_accepted)
{
	call_with_size(_metadata, self, variant, variant->struct_size + 8, 0);
	EXPECT_TRUE(!memcmp(self->arg + variant->struct_size,
			    "\0\0\0\0\0\0\0\0", 8));
}

TEST_F(abi, larger_zero_tail_64_accepted)
{
	uint8_t zeros[64] = { 0 };

	call_with_size(_metadata, self, variant, variant->struct_size + 64, 0);
	EXPECT_EQ(0, memcmp(self->arg + variant->struct_size, zeros, 64));
}

/* A struct of @size whose byte @at in the tail is nonzero: E2BIG. */
static void check_nonzero_tail(struct __test_metadata *_metadata,
			       FIXTURE_DATA(abi) *self,
			       const FIXTURE_VARIANT(abi) *variant,
			       size_t size, size_t at)
{
	struct abi_snapshot *before = malloc(sizeof(*before));
	uint8_t *arg;

	ASSERT_NE(NULL, before);
	arg = build_arg(_metadata, self, variant, self->arg, size);
	arg[at] = 1;
	take_snapshot(_metadata, self, before);
	EXPECT_EQ(-E2BIG, softmem_raw_ioctl(self->pool, variant->request, arg))
		TH_LOG("size %zu, byte %zu set", size, at);
	check_unchanged(_metadata, self, before);
	free(before);
}

TEST_F(abi, nonzero_tail_e2big)
{
	size_t size = variant->struct_size;

	check_nonzero_tail(_metadata, self, variant, size + 8, size);
	check_nonzero_tail(_metadata, self, variant, size + 8, size + 7);
	check_nonzero_tail(_metadata, self, variant, size + 64, size + 63);
}

TEST_F(abi, oversized_struct_e2big)
{
	check_nonzero_tail(_metadata, self, variant, 4097, 4096);
	check_nonzero_tail(_metadata, self, variant, 8192, 8191);
}

TEST_F(abi, unknown_flags_einval)
{
	struct abi_snapshot *before = malloc(sizeof(*before));
	unsigned int bit;

	ASSERT_NE(NULL, before);
	for (bit = 0; bit < 32; bit++) {
		struct softmem_free *arg;

		if (variant->valid_flags & (1U << bit))
			continue;
		arg = build_arg(_metadata, self, variant, self->arg,
				variant->struct_size);
		arg->flags |= 1U << bit;
		take_snapshot(_metadata, self, before);
		EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool,
						     variant->request, arg))
			TH_LOG("flag bit %u", bit);
		check_unchanged(_metadata, self, before);
	}
	free(before);
}

TEST_F(abi, null_struct_efault)
{
	struct abi_snapshot *before = malloc(sizeof(*before));

	ASSERT_NE(NULL, before);
	take_snapshot(_metadata, self, before);
	EXPECT_EQ(-EFAULT, softmem_raw_ioctl(self->pool, variant->request,
					     NULL));
	check_unchanged(_metadata, self, before);
	free(before);
}

TEST_F(abi, unmapped_struct_efault)
{
	struct abi_snapshot *before = malloc(sizeof(*before));
	void *gone = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(NULL, before);
	ASSERT_NE(MAP_FAILED, gone);
	build_arg(_metadata, self, variant, gone, variant->struct_size);
	ASSERT_EQ(0, munmap(gone, self->page));
	take_snapshot(_metadata, self, before);
	EXPECT_EQ(-EFAULT, softmem_raw_ioctl(self->pool, variant->request,
					     gone));
	EXPECT_EQ(-EFAULT, softmem_raw_ioctl(self->pool, variant->request,
					     (void *)(uintptr_t)-4096));
	check_unchanged(_metadata, self, before);
	free(before);
}

/* size and flags are readable, the rest of the struct is not mapped. */
TEST_F(abi, struct_straddling_unmapped_page_efault)
{
	struct abi_snapshot *before = malloc(sizeof(*before));
	uint8_t *pages = mmap(NULL, 2 * self->page, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *arg;

	ASSERT_NE(NULL, before);
	ASSERT_NE(MAP_FAILED, pages);
	arg = pages + self->page - 8;
	memset(arg, 0, 8);
	((struct softmem_free *)arg)->size = variant->struct_size;
	ASSERT_EQ(0, munmap(pages + self->page, self->page));
	take_snapshot(_metadata, self, before);
	EXPECT_EQ(-EFAULT, softmem_raw_ioctl(self->pool, variant->request,
					     arg));
	check_unchanged(_metadata, self, before);
	munmap(pages, self->page);
	free(before);
}

/* A read-only struct is fine unless the command writes results into it. */
TEST_F(abi, read_only_struct)
{
	struct abi_snapshot *before = malloc(sizeof(*before));
	uint8_t *ro = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ret;

	ASSERT_NE(NULL, before);
	ASSERT_NE(MAP_FAILED, ro);
	build_arg(_metadata, self, variant, ro, variant->struct_size);
	ASSERT_EQ(0, mprotect(ro, self->page, PROT_READ));
	take_snapshot(_metadata, self, before);
	ret = softmem_raw_ioctl(self->pool, variant->request, ro);
	if (variant->has_output) {
		EXPECT_EQ(-EFAULT, ret);
		check_unchanged(_metadata, self, before);
	} else {
		EXPECT_EQ(0, ret);
	}
	munmap(ro, self->page);
	free(before);
}

/* Commands without a dedicated fixture: reserved fields, unknown numbers. */
FIXTURE(abi_misc) {
	int pool;
	uint64_t region;
	uint64_t other;
};

FIXTURE_SETUP(abi_misc)
{
	SKIP_IF_NO_DEVICE();
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	ASSERT_EQ(0, region_alloc_filled(self->pool, page_size(), 4,
					 &self->region));
	ASSERT_EQ(0, region_alloc_filled(self->pool, page_size(), 5,
					 &self->other));
}

FIXTURE_TEARDOWN(abi_misc)
{
	if (self->pool > 0)
		softmem_close(self->pool);
}

TEST_F(abi_misc, alloc_priority_einval)
{
	struct softmem_stats stats;
	struct softmem_alloc arg = {
		.size = sizeof(arg),
		.length = page_size(),
		.priority = 1,
	};

	/* Without SOFTMEM_ALLOC_PRIORITY the field must be 0. */
	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_ALLOC,
					     &arg));
	arg.flags = SOFTMEM_ALLOC_PRIORITY;
	arg.priority = SOFTMEM_NR_PRIORITIES;
	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_ALLOC,
					     &arg));
	arg.priority = 0x80000000;
	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_ALLOC,
					     &arg));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(2, stats.regions);
}

TEST_F(abi_misc, resume_reserved_einval)
{
	struct softmem_stats stats;
	struct softmem_resume arg = {
		.size = sizeof(arg),
		.handle = self->region,
		.__reserved = 1,
	};

	ASSERT_EQ(0, softmem_suspend(self->pool, self->region));
	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_RESUME,
					     &arg));
	/* The region is still suspended. */
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(page_size(), stats.suspended_bytes);
	arg.__reserved = 0;
	EXPECT_EQ(0, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_RESUME, &arg));
	EXPECT_EQ(SOFTMEM_INTACT, arg.state);
}

TEST_F(abi_misc, set_reserved_einval)
{
	struct softmem_set arg = {
		.size = sizeof(arg),
		.handle = self->region,
		.length = 16,
		.value = 0x22,
		.__reserved = 1,
	};

	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_SET,
					     &arg));
	EXPECT_EQ(1, region_matches(self->pool, self->region, 0, page_size(),
				    4));
}

TEST_F(abi_misc, compare_reserved_einval)
{
	struct softmem_compare arg = {
		.size = sizeof(arg),
		.handle = self->region,
		.other_handle = self->other,
		.length = 16,
		.result = 7,
		.__reserved = 1,
	};

	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_COMPARE,
					     &arg));
	EXPECT_EQ(7, arg.result);
}

TEST_F(abi_misc, find_reserved_einval)
{
	struct softmem_find arg = {
		.size = sizeof(arg),
		.handle = self->region,
		.length = 16,
		.value = 1,
		.__reserved = 1,
		.position = 7,
	};

	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_FIND,
					     &arg));
	EXPECT_EQ(7, arg.position);
}

TEST_F(abi_misc, export_reserved_einval)
{
	struct softmem_export arg = {
		.size = sizeof(arg),
		.handle = self->region,
		.__reserved = 1,
	};
	int next_fd = lowest_free_fd();

	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_EXPORT,
					     &arg));
	arg.__reserved = 0x80000000;
	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_EXPORT,
					     &arg));
	EXPECT_EQ(next_fd, lowest_free_fd());
}

/* SOFTMEM_EXPORT_NO_CLOEXEC is the one flag, and it does what it says. */
TEST_F(abi_misc, export_no_cloexec_flag)
{
	struct softmem_export arg = {
		.size = sizeof(arg),
		.flags = SOFTMEM_EXPORT_NO_CLOEXEC,
		.handle = self->region,
	};
	int fd;

	ASSERT_EQ(0, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_EXPORT, &arg));
	fd = arg.fd;
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, close(fd));
}

TEST_F(abi_misc, import_reserved_einval)
{
	struct softmem_import arg = {
		.size = sizeof(arg),
		.__reserved = 1,
	};
	struct softmem_stats stats;
	int fd;

	fd = softmem_export(self->pool, self->region, 0);
	ASSERT_LE(0, fd);
	arg.fd = fd;
	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_IMPORT,
					     &arg));
	arg.__reserved = 0x80000000;
	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_IMPORT,
					     &arg));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(2, stats.regions);
	arg.__reserved = 0;
	EXPECT_EQ(0, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_IMPORT, &arg));
	EXPECT_EQ(page_size(), arg.length);
	EXPECT_EQ(0, close(fd));
}

TEST_F(abi_misc, unknown_ioctl_enotty)
{
	struct softmem_alloc arg = {
		.size = sizeof(arg),
		.length = page_size(),
	};
	unsigned long bad[] = {
		_IO(SOFTMEM_IOCTL_MAGIC, 0x40),
		_IO(SOFTMEM_IOCTL_MAGIC, 0x7f),
		_IO(SOFTMEM_IOCTL_MAGIC, 0xff),
		_IO(SOFTMEM_IOCTL_MAGIC + 1, SOFTMEM_CMD_ALLOC),
		_IO('x', SOFTMEM_CMD_ALLOC),
		/* The size lives in the struct, not in the number. */
		_IOWR(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_ALLOC,
		      struct softmem_alloc),
		_IOR(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_STATS,
		     struct softmem_stats),
	};
	struct softmem_stats stats;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-ENOTTY, softmem_raw_ioctl(self->pool, bad[i], &arg))
			TH_LOG("ioctl 0x%lx", bad[i]);
	}
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(2, stats.regions);
}

TEST_F(abi_misc, no_positive_return_values)
{
	struct softmem_find arg = {
		.size = sizeof(arg),
		.handle = self->region,
		.length = page_size(),
		.value = pattern_byte(100, 4),
	};

	/* The result travels in the struct, the return value is 0. */
	EXPECT_EQ(0, ioctl(self->pool, SOFTMEM_IOC_FIND, &arg));
	EXPECT_LE(0, arg.position);
	EXPECT_GT((int64_t)page_size(), arg.position);
}

TEST_HARNESS_MAIN
