// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_fuzz: random and mutated ioctls on /dev/softmem.
 *
 * FUZZ_THREADS threads issue calls built from classes of values chosen to hit
 * edges: command numbers in and out of range, other magics and _IOR/_IOW
 * encodings; struct sizes 0, 4, short, exact, longer with zero or nonzero
 * tails, huge; flags, reserved fields, handles, offsets and lengths at and
 * past every limit (overflow, SOFTMEM_MAX_LENGTH); struct and data pointers
 * that are NULL, kernel addresses, unmapped, PROT_NONE, read-only, cut by a
 * PROT_NONE page or (data) in a mapping of a region; and bit flips of
 * known-good calls.  EXPORT hands out descriptors, of which each thread
 * keeps a few (closing the oldest) to IMPORT into any pool, alongside
 * descriptors that are closed, of no region or whatever is open; and to
 * mmap() with random offsets, lengths, protections and MAP_PRIVATE, then
 * touch (SIGBUS and SIGSEGV caught), mprotect(), madvise() and munmap() in
 * part or whole.  Each thread's own pool has state words, which it maps with
 * random offsets and lengths and fills with random values (softmem_words.c:
 * only the pool's own data may suffer).  A racer thread closes and reopens one of the shared pools,
 * frees, suspends and exports regions under the others' feet and runs the
 * shrinkers.
 *
 * Every result must be 0 or a documented negative errno (EBADF only on the
 * pool being closed, or for IMPORT); classes with one right answer (ENOTTY,
 * EFAULT, EINVAL, E2BIG, EBADF) must get exactly it; a failed call on a
 * thread's private pool must leave its regions alone; results in the struct
 * must make sense, and an exported descriptor must be open, close-on-exec
 * unless asked otherwise.  A mapping that fits the region must be made, one
 * that does not or is MAP_PRIVATE refused with EINVAL; a touch may raise
 * SIGSEGV exactly where the protection forbids it, and SIGBUS only
 * elsewhere.  At the end the module holds nothing, and /dev/kmsg shows no BUG,
 * WARNING, KASAN, UBSAN, Oops or lockdep line from the run.
 *
 * Programs.  One turn in PROG_ONE_IN of a fuzzing thread runs a program
 * instead of a call: a short list of operations on pools, regions, exported
 * descriptors and mappings of its own, which it opens first and closes at
 * its end (see prog_ops[]): an ioctl of any command, export and import into
 * the other pool, mmap(), touch, mprotect()/madvise() and munmap() of a
 * mapping, close and reopen of a pool's descriptor, close of an exported
 * one, drop_caches, and fork(), whose child runs the next few operations on
 * its copies and exits.  Operations marked thread=1 run on a second thread
 * alongside the others.  Each result is checked as a single call's, and a
 * forked child's failed check fails its parent.
 *
 * With KCOV (/sys/kernel/debug/kcov: the debug kernel, where only softmem
 * is instrumented), each fuzzing thread traces the PCs of softmem's code
 * that each of its ioctls and operations runs and counts the edges (pairs
 * of consecutive PCs within one of them) in a map shared by the threads;
 * a forked child and the second thread are not traced.  A call that reaches
 * an edge no call reached before is kept, and a third of the thread's calls
 * are then a kept call replayed with bits flipped or spliced into a fresh
 * call of the same command.  A program that does is kept in the thread's
 * corpus (CORPUS_SLOTS), and three programs in four are then made from a
 * kept one: operations inserted, deleted or replaced, an argument changed,
 * an operation moved to or from the second thread, or the first part of
 * one spliced to the last part of another.  Without KCOV the fuzzer runs
 * blind, as it did before; SOFTMEM_FUZZ_BLIND=1 makes it blind with KCOV
 * too, counting edges only, to compare.
 *
 * Reproducers.  A program during which a check failed, or the kernel
 * splatted (/dev/kmsg is read after each program), is printed as text
 * between "# fuzz-repro: begin" and "# fuzz-repro: end" lines: "seed N",
 * then an operation a line, "alloc pool=0 slot=1 length=0x2000 ...".  make
 * fuzz (tools/fuzz.sh) saves them in build/fuzz/.  Every *.repro file in
 * repro/ beside the binary (SOFTMEM_FUZZ_REPRO names another directory) is
 * replayed by the test fuzz.reproducers, which runs first, with the same
 * checks; a file that does not parse fails it, naming the line.
 *
 * Output: "# fuzz: N calls, E edges, S splats" ("N calls, S splats" without
 * KCOV, or when softmem.ko was built without it), N counting ioctls and
 * other operations, after "# fuzz: corpus P programs, ...".  SOFTMEM_FUZZ_SEED
 * and SOFTMEM_FUZZ_CALLS override the printed seed and the number of calls;
 * SOFTMEM_FUZZ_TIME=S runs for S seconds instead.
 */
#include "softmem_test.h"

#include <linux/kcov.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>

#define FUZZ_THREADS		3
#define FUZZ_SEED		0xf022ULL
#define FUZZ_CALLS_DEBUG	200000ULL
#define FUZZ_CALLS_STOCK	250000ULL	/* more than on the debug kernel */
#define FUZZ_REPORTS		20	/* unexpected results printed */
#define POOL_SLOTS		32
#define DATA_BYTES		(64 * KiB)
#define STRUCT_MAX		512	/* struct and tail as the fuzzer builds them */
#define REGION_MAX		(1 * MiB)	/* larger regions are freed at once */
#define FUZZ_CAP		(16 * MiB)	/* module caps during the run */
#define EXPORT_SLOTS		8	/* exported descriptors a thread keeps */
#define MAP_SLOTS		8	/* mappings a thread keeps */
#define TOUCH_MAX		64	/* bytes touched at once in a mapping */
#define FUZZ_WORDS		65536	/* state words of a thread's own pool */
#define KCOV_PATH		"/sys/kernel/debug/kcov"
#define KCOV_WORDS		(64 * 1024)	/* a call's trace: count, PCs */
#define EDGE_BITS		18	/* the edge map has 2^EDGE_BITS bits */
#define KEPT_SLOTS		64	/* calls a thread keeps for new edges */

/* Known-good regions of a pool; slots are 0 when free. */
struct fuzz_pool {
	int fd;
	bool racy;		/* closed and reopened by the racer */
	atomic_ulong handle[POOL_SLOTS];
	atomic_ulong length[POOL_SLOTS];
};

/* A descriptor the thread exported, kept open to import and map. */
struct fuzz_export {
	bool used;
	int fd;
	uint64_t length;	/* the region's, once an IMPORT told it; else 0 */
};

/* A mapping the thread made of one of its exported descriptors. */
struct fuzz_map {
	bool used;
	uint8_t *addr;
	size_t length;		/* whole pages */
	int prot;		/* -1 once part of it was mprotect()ed */
};

struct prog;

/* Entries of one BATCH call at most. */
#define FUZZ_BATCH	16

struct fuzzer {
	unsigned int id;
	uint64_t rng;
	uint64_t quota;
	atomic_ulong calls;
	uint64_t unexpected;
	size_t page;
	uint8_t *data;		/* DATA_BYTES, then a PROT_NONE page */
	uint8_t *edge;		/* a page, then a PROT_NONE page */
	uint8_t *ro;		/* a read-only page */
	uint8_t *none;		/* a PROT_NONE page */
	uint8_t *hole;		/* a page nothing can map (see fuzzer_init()) */
	struct fuzz_pool own;	/* used by this thread only */
	struct fuzz_pool big;	/* for SOFTMEM_MAX_LENGTH regions */
	struct fuzz_export exported[EXPORT_SLOTS];
	struct fuzz_map maps[MAP_SLOTS];
	struct softmem_batch_entry batch[FUZZ_BATCH];	/* BATCH's entries */
	int kcov;		/* this thread's KCOV descriptor, or <= 0 */
	unsigned long *cover;	/* its trace: PCs recorded, then the PCs */
	bool kcov_failed;	/* KCOV is there but could not be enabled */
	struct fuzz_kept *kept;	/* KEPT_SLOTS calls that reached new edges */
	unsigned int nr_kept;
	uint64_t kept_total;	/* calls ever kept, replaced ones included */
	uint64_t replays;	/* calls made from a kept one */
	struct prog *prog;	/* the program being run */
	struct prog *corpus;	/* CORPUS_SLOTS programs that reached new edges */
	unsigned int nr_corpus;
	double deadline;	/* SOFTMEM_FUZZ_TIME: run until then, not quota */
};

/* A call as built, before it is issued. */
struct fuzz_call {
	struct fuzz_pool *pool;
	unsigned long cmd;
	int nr;			/* softmem command, or -1 for a bad one */
	union {
		uint8_t s[STRUCT_MAX];	/* struct bytes, with any tail */
		uint64_t align;
	};
	size_t placed;		/* bytes of @s at @arg */
	uint8_t *arg;		/* the ioctl argument */
	bool readable;		/* @arg holds @s: results can be checked */
	int exact;		/* the only right result if nonzero */
	int slot;		/* IMPORT: the exported slot of its fd, or -1 */
	const char *what;
};

/* The pool a call went to, as a kept call remembers it. */
enum fuzz_pool_kind { POOL_OWN, POOL_BIG, POOL_RACY, POOL_SHARED };

/* A call that reached new edges, as built (KCOV mode). */
struct fuzz_kept {
	enum fuzz_pool_kind pool;
	unsigned long cmd;
	int nr;
	size_t placed;
	uint8_t s[STRUCT_MAX];
};

/* What the mapping calls did, for the summary. */
enum map_stat {
	MAP_MADE,
	MAP_REFUSED,
	MAP_TOUCHED,
	MAP_SIGBUS,
	MAP_SIGSEGV,
	MAP_PROTECTED,
	MAP_ADVISED,
	MAP_UNMAPPED,
	NR_MAP_STATS
};

static struct fuzz_pool racy_pool, shared_pool;
static int null_fd = -1;		/* /dev/null: open, but no region */
static atomic_int fuzz_done;
static atomic_ulong unexpected_total;
static atomic_ulong result_count[256];	/* by -errno, 0 for success */
static atomic_ulong map_count[NR_MAP_STATS];
/* KCOV mode: the edges any thread's calls reached, and how many. */
static atomic_ulong edge_map[(1UL << EDGE_BITS) / 64];
static atomic_ulong edge_total;
static bool fuzz_blind;		/* SOFTMEM_FUZZ_BLIND: count edges, keep no call */

static const unsigned int struct_size[] = {
	[SOFTMEM_CMD_ALLOC] = sizeof(struct softmem_alloc),
	[SOFTMEM_CMD_FREE] = sizeof(struct softmem_free),
	[SOFTMEM_CMD_SUSPEND] = sizeof(struct softmem_suspend),
	[SOFTMEM_CMD_RESUME] = sizeof(struct softmem_resume),
	[SOFTMEM_CMD_READ] = sizeof(struct softmem_rw),
	[SOFTMEM_CMD_WRITE] = sizeof(struct softmem_rw),
	[SOFTMEM_CMD_COPY] = sizeof(struct softmem_copy),
	[SOFTMEM_CMD_MOVE] = sizeof(struct softmem_copy),
	[SOFTMEM_CMD_SET] = sizeof(struct softmem_set),
	[SOFTMEM_CMD_COMPARE] = sizeof(struct softmem_compare),
	[SOFTMEM_CMD_FIND] = sizeof(struct softmem_find),
	[SOFTMEM_CMD_STATS] = sizeof(struct softmem_stats),
	[SOFTMEM_CMD_CONFIGURE] = sizeof(struct softmem_configure),
	[SOFTMEM_CMD_NODE_STATS] = sizeof(struct softmem_node_stats),
	[SOFTMEM_CMD_SET_PRIORITY] = sizeof(struct softmem_set_priority),
	[SOFTMEM_CMD_EXPORT] = sizeof(struct softmem_export),
	[SOFTMEM_CMD_IMPORT] = sizeof(struct softmem_import),
	[SOFTMEM_CMD_BATCH] = sizeof(struct softmem_batch),
};

#define NR_CMDS		ARRAY_SIZE(struct_size)

/* Commands whose struct carries results back: documented "output" fields. */
static bool has_output(int nr)
{
	return nr == SOFTMEM_CMD_ALLOC || nr == SOFTMEM_CMD_RESUME ||
	       nr == SOFTMEM_CMD_COMPARE || nr == SOFTMEM_CMD_FIND ||
	       nr == SOFTMEM_CMD_STATS || nr == SOFTMEM_CMD_NODE_STATS ||
	       nr == SOFTMEM_CMD_EXPORT || nr == SOFTMEM_CMD_IMPORT ||
	       nr == SOFTMEM_CMD_BATCH;
}

static uint64_t rnd(struct fuzzer *f, uint64_t n)
{
	return test_rand_below(&f->rng, n);
}

static uint64_t rnd64(struct fuzzer *f)
{
	return test_rand(&f->rng);
}

static long issue(int fd, unsigned long cmd, void *arg)
{
	long ret = ioctl(fd, cmd, arg);

	if (ret < 0)
		ret = -errno;
	if (ret <= 0 && ret > -256)
		atomic_fetch_add(&result_count[-ret], 1);
	return ret;
}

/* How often each result came, so that a run shows what it reached. */
static void print_results(void)
{
	char line[400];
	int at = 0, i;

	for (i = 0; i < 256 && at < (int)sizeof(line) - 32; i++) {
		unsigned long n = atomic_load(&result_count[i]);

		if (n)
			at += snprintf(line + at, sizeof(line) - at, " %s %lu,",
				       i ? strerrorname_np(i) : "0", n);
	}
	if (at)
		line[at - 1] = '\0';
	say("# fuzz: results:%s", at ? line : " none");
}

static void print_mappings(void)
{
	say("# fuzz: mappings: %lu made, %lu refused; touches: %lu fine, %lu SIGBUS, %lu SIGSEGV; %lu mprotect, %lu madvise, %lu munmap",
	    atomic_load(&map_count[MAP_MADE]),
	    atomic_load(&map_count[MAP_REFUSED]),
	    atomic_load(&map_count[MAP_TOUCHED]),
	    atomic_load(&map_count[MAP_SIGBUS]),
	    atomic_load(&map_count[MAP_SIGSEGV]),
	    atomic_load(&map_count[MAP_PROTECTED]),
	    atomic_load(&map_count[MAP_ADVISED]),
	    atomic_load(&map_count[MAP_UNMAPPED]));
}

/* Results the ABI documents; EBADF only while the racer has the fd closed. */
static bool documented(long ret, bool racy)
{
	switch (-ret) {
	case 0: case ENOTTY: case EFAULT: case EINVAL: case E2BIG:
	case ENOENT: case ESTALE: case ENOMEM: case ENOSPC: case EINTR:
	case EBUSY:
		return true;
	case EBADF:
		return racy;
	default:
		return false;
	}
}

static void __attribute__((format(printf, 2, 3)))
unexpected(struct fuzzer *f, const char *fmt, ...)
{
	va_list ap;

	f->unexpected++;
	if (atomic_fetch_add(&unexpected_total, 1) >= FUZZ_REPORTS)
		return;
	va_start(ap, fmt);
	say_report("# fuzz: thread", f->id, "UNEXPECTED", fmt, ap);
	va_end(ap);
}

/* The struct's bytes in hex, for a report. */
static const char *hex(const struct fuzz_call *c, char *buf, size_t size)
{
	size_t i, n = c->placed < 96 ? c->placed : 96, at = 0;

	buf[0] = '\0';
	for (i = 0; i < n && at + 3 < size; i++)
		at += snprintf(buf + at, size - at, "%02x", c->s[i]);
	return buf;
}

/* Remember a region, or forget it when the pool has no free slot. */
static void pool_add(struct fuzz_pool *p, uint64_t handle, uint64_t length)
{
	unsigned int i;

	for (i = 0; i < POOL_SLOTS; i++) {
		unsigned long zero = 0;

		if (atomic_compare_exchange_strong(&p->handle[i], &zero,
						   handle)) {
			atomic_store(&p->length[i], length);
			return;
		}
	}
}

static void pool_clear(struct fuzz_pool *p)
{
	unsigned int i;

	for (i = 0; i < POOL_SLOTS; i++)
		atomic_store(&p->handle[i], 0);
}

/* A live handle of @p (0 if none) and its length. */
static uint64_t pool_pick(struct fuzzer *f, struct fuzz_pool *p,
			  uint64_t *length)
{
	unsigned int i, start = rnd(f, POOL_SLOTS);

	for (i = 0; i < POOL_SLOTS; i++) {
		unsigned int slot = (start + i) % POOL_SLOTS;
		uint64_t h = atomic_load(&p->handle[slot]);

		if (h) {
			*length = atomic_load(&p->length[slot]);
			return h;
		}
	}
	*length = 0;
	return 0;
}

/* ---- exported descriptors and mappings of this thread ---- */

/* A used slot of @f->exported, or -1. */
static int export_pick(struct fuzzer *f)
{
	unsigned int i, start = rnd(f, EXPORT_SLOTS);

	for (i = 0; i < EXPORT_SLOTS; i++) {
		unsigned int slot = (start + i) % EXPORT_SLOTS;

		if (f->exported[slot].used)
			return slot;
	}
	return -1;
}

/* Keep @fd, closing another one if every slot is taken. */
static void export_add(struct fuzzer *f, int fd)
{
	unsigned int i, slot = rnd(f, EXPORT_SLOTS);

	for (i = 0; i < EXPORT_SLOTS; i++) {
		if (!f->exported[i].used) {
			slot = i;
			break;
		}
	}
	if (f->exported[slot].used)
		close(f->exported[slot].fd);
	f->exported[slot].used = true;
	f->exported[slot].fd = fd;
	f->exported[slot].length = 0;
}

static struct fuzz_map *map_pick(struct fuzzer *f)
{
	unsigned int i, start = rnd(f, MAP_SLOTS);

	for (i = 0; i < MAP_SLOTS; i++) {
		struct fuzz_map *m = &f->maps[(start + i) % MAP_SLOTS];

		if (m->used)
			return m;
	}
	return NULL;
}

/* Keep a new mapping, unmapping another one if every slot is taken. */
static void map_add(struct fuzzer *f, void *addr, size_t length, int prot)
{
	struct fuzz_map *m = &f->maps[rnd(f, MAP_SLOTS)];
	unsigned int i;

	for (i = 0; i < MAP_SLOTS; i++) {
		if (!f->maps[i].used) {
			m = &f->maps[i];
			break;
		}
	}
	if (m->used && munmap(m->addr, m->length))
		unexpected(f, "munmap of a whole mapping: %s", strerror(errno));
	m->used = true;
	m->addr = addr;
	m->length = length;
	m->prot = prot;
}

static void fuzzer_unmap_all(struct fuzzer *f)
{
	unsigned int i;

	for (i = 0; i < MAP_SLOTS; i++)
		if (f->maps[i].used)
			munmap(f->maps[i].addr, f->maps[i].length);
	for (i = 0; i < EXPORT_SLOTS; i++)
		if (f->exported[i].used)
			close(f->exported[i].fd);
	memset(f->maps, 0, sizeof(f->maps));
	memset(f->exported, 0, sizeof(f->exported));
}

/* ---- value classes ---- */

static uint64_t gen_handle(struct fuzzer *f, struct fuzz_pool *p,
			   uint64_t *length)
{
	uint64_t h;

	*length = 0;
	switch (rnd(f, 12)) {
	case 0 ... 7:
		h = pool_pick(f, p, length);
		if (h)
			return h;
		return 1 + rnd(f, 64);
	case 8:
		return 0;
	case 9:
		return 1 + rnd(f, 1000);
	case 10: {
		static const uint64_t edge[] = {
			UINT32_MAX, 1ULL << 32, UINT64_MAX, INT64_MAX,
			1ULL << 63, UINT32_MAX - 1ULL,
		};
		return edge[rnd(f, ARRAY_SIZE(edge))];
	}
	default:
		/* A live handle with high bits set must not alias it. */
		return pool_pick(f, p, length) | (1ULL << (32 + rnd(f, 32)));
	}
}

/* An offset or a length, relative to @span (the bytes that would fit). */
static uint64_t gen_span(struct fuzzer *f, uint64_t span)
{
	switch (rnd(f, 20)) {
	case 0 ... 8:
		return rnd(f, span + 1);
	case 9:
		return 0;
	case 10:
		return span;
	case 11:
		return span + 1;
	case 12:
		return span ? span - 1 : 0;
	case 13:
		return rnd(f, 8) * f->page + rnd(f, 3) - 1;
	case 14:
		return SOFTMEM_MAX_LENGTH + rnd(f, 3) - 1;
	case 15:
		return UINT64_MAX - rnd(f, 2 * f->page);
	case 16:
		return 1ULL << rnd(f, 64);
	case 17:
		return (uint64_t)UINT32_MAX + rnd(f, 3) - 1;
	case 18:
		return rnd(f, 64);
	default:
		return rnd64(f);
	}
}

static uint32_t gen_flags(struct fuzzer *f, uint32_t valid)
{
	switch (rnd(f, 10)) {
	case 0 ... 6:
		return 0;
	case 7:
		return valid;
	case 8:
		return 1U << rnd(f, 32);
	default:
		return (uint32_t)rnd64(f);
	}
}

static uint32_t gen_reserved(struct fuzzer *f)
{
	return rnd(f, 8) ? 0 : (rnd(f, 2) ? 1U << rnd(f, 32) :
				(uint32_t)rnd64(f));
}

static uint32_t gen_byte(struct fuzzer *f)
{
	switch (rnd(f, 10)) {
	case 0 ... 7:
		return rnd(f, 256);
	case 8:
		return 256 + rnd(f, 2);
	default:
		return (uint32_t)rnd64(f);
	}
}

/* A user data pointer for @length bytes: mostly good, else anything. */
static uint64_t gen_addr(struct fuzzer *f, uint64_t length)
{
	uint64_t fit = length < DATA_BYTES ? DATA_BYTES - length : 0;

	switch (rnd(f, 17)) {
	case 0 ... 8:
		return (uintptr_t)f->data + rnd(f, fit + 1);
	case 9:	/* runs into the guard page */
		return (uintptr_t)f->data + DATA_BYTES - rnd(f, 64);
	case 10:
		return (uintptr_t)f->ro + rnd(f, f->page);
	case 11:
		return (uintptr_t)f->none + rnd(f, f->page);
	case 12:
		return (uintptr_t)f->hole;
	case 13:
		return 0;
	case 14: {
		static const uint64_t bad[] = {
			0xffff888000000000ULL, 0xffffffff81000000ULL,
			0x8000000000000000ULL, UINT64_MAX, 0x1000,
			0x00007ffffffff000ULL,
		};
		return bad[rnd(f, ARRAY_SIZE(bad))];
	}
	case 16:
		/*
		 * Not a mapping of a region: the kernel may write into the
		 * buffer, and a buffer that runs past a mapping's end lands in
		 * whatever mmap() put next to it (the harness's results).
		 * Mapped buffers are exercised by softmem_mmap instead.
		 */
		return (uintptr_t)f->data + rnd(f, fit + 1);
	default:
		return rnd64(f);
	}
}

/* A descriptor to import: mostly one this thread exported, else anything. */
static uint32_t gen_import_fd(struct fuzzer *f, int *slot)
{
	static const uint32_t closed[] = {
		UINT32_MAX, INT32_MAX, 1U << 20, UINT32_MAX - 1,
	};
	int i = export_pick(f);

	*slot = -1;
	switch (rnd(f, 10)) {
	case 0 ... 5:
		if (i < 0)
			return rnd(f, 64);
		*slot = i;
		return f->exported[i].fd;
	case 6:
		return null_fd;
	case 7:
		return rnd(f, 2) ? f->own.fd : shared_pool.fd;
	case 8:
		return rnd(f, 64);	/* whatever is open there, if anything */
	default:
		return closed[rnd(f, ARRAY_SIZE(closed))];
	}
}

/* Offset and length inside a region of @region bytes, or anywhere. */
static void gen_range(struct fuzzer *f, uint64_t region, __u64 *offset,
		      __u64 *length)
{
	*offset = gen_span(f, region);
	*length = gen_span(f, region > *offset ? region - *offset : 0);
	/* Keep data operations on bad pools short. */
	if (*length > REGION_MAX && *offset + *length >= *offset &&
	    *offset + *length <= region)
		*length = REGION_MAX;
}

/* ---- struct generators ---- */

static void gen_struct(struct fuzzer *f, struct fuzz_call *c, bool good)
{
	struct fuzz_pool *p = c->pool;
	uint64_t region, region2;

	memset(c->s, 0, sizeof(c->s));
	switch (c->nr) {
	case SOFTMEM_CMD_ALLOC: {
		struct softmem_alloc *a = (void *)c->s;

		a->length = good || rnd(f, 3) ? 1 + rnd(f, rnd(f, 2) ? 64 * KiB :
							REGION_MAX) :
			    gen_span(f, SOFTMEM_MAX_LENGTH);
		if (good && rnd(f, 2)) {
			a->flags = SOFTMEM_ALLOC_PRIORITY;
			a->priority = rnd(f, SOFTMEM_NR_PRIORITIES);
		}
		if (!good) {
			a->flags = gen_flags(f, SOFTMEM_ALLOC_VALID_FLAGS);
			a->node = rnd(f, 4) ? 0 : (rnd(f, 2) ? rnd(f, 4) :
						   (uint32_t)rnd64(f));
			a->priority = rnd(f, 2) ? rnd(f, 2 * SOFTMEM_NR_PRIORITIES) :
						  gen_reserved(f);
			a->handle = rnd(f, 2) ? 0 : rnd64(f);
		}
		break;
	}
	case SOFTMEM_CMD_FREE:
	case SOFTMEM_CMD_SUSPEND: {
		struct softmem_free *a = (void *)c->s;

		a->handle = gen_handle(f, p, &region);
		if (!good)
			a->flags = gen_flags(f, 0);
		break;
	}
	case SOFTMEM_CMD_RESUME: {
		struct softmem_resume *a = (void *)c->s;

		a->handle = gen_handle(f, p, &region);
		if (!good) {
			a->flags = gen_flags(f, 0);
			a->state = rnd(f, 2) ? 0 : (uint32_t)rnd64(f);
			a->__reserved = gen_reserved(f);
		}
		break;
	}
	case SOFTMEM_CMD_READ:
	case SOFTMEM_CMD_WRITE: {
		struct softmem_rw *a = (void *)c->s;

		a->handle = gen_handle(f, p, &region);
		if (good) {
			a->offset = rnd(f, region + 1);
			a->length = rnd(f, region - a->offset + 1);
			if (a->length > DATA_BYTES)
				a->length = rnd(f, DATA_BYTES);
			a->addr = (uintptr_t)f->data +
				  rnd(f, DATA_BYTES - a->length + 1);
		} else {
			a->flags = gen_flags(f, 0);
			gen_range(f, region, &a->offset, &a->length);
			a->addr = gen_addr(f, a->length);
		}
		break;
	}
	case SOFTMEM_CMD_COPY:
	case SOFTMEM_CMD_MOVE: {
		struct softmem_copy *a = (void *)c->s;
		uint64_t span;

		a->dst_handle = gen_handle(f, p, &region);
		a->src_handle = rnd(f, 3) ? gen_handle(f, p, &region2) :
			       (region2 = region, a->dst_handle);
		span = region < region2 ? region : region2;
		if (good) {
			a->length = rnd(f, span + 1);
			a->dst_offset = rnd(f, region - a->length + 1);
			a->src_offset = rnd(f, region2 - a->length + 1);
			if (c->nr == SOFTMEM_CMD_COPY &&
			    a->dst_handle == a->src_handle)
				a->length = 0;
		} else {
			a->flags = gen_flags(f, 0);
			gen_range(f, span, &a->dst_offset, &a->length);
			a->src_offset = rnd(f, 2) ? a->dst_offset + rnd(f, 64) -
						    32 : gen_span(f, region2);
		}
		break;
	}
	case SOFTMEM_CMD_SET:
	case SOFTMEM_CMD_FIND: {
		/* struct softmem_find is struct softmem_set plus position. */
		struct softmem_set *a = (void *)c->s;

		_Static_assert(offsetof(struct softmem_find, value) ==
			       offsetof(struct softmem_set, value) &&
			       offsetof(struct softmem_find, __reserved) ==
			       offsetof(struct softmem_set, __reserved),
			       "SET and FIND share their first fields");

		a->handle = gen_handle(f, p, &region);
		if (good) {
			a->offset = rnd(f, region + 1);
			a->length = rnd(f, region - a->offset + 1);
			a->value = rnd(f, 256);
		} else {
			a->flags = gen_flags(f, 0);
			gen_range(f, region, &a->offset, &a->length);
			a->value = gen_byte(f);
			a->__reserved = gen_reserved(f);
			if (c->nr == SOFTMEM_CMD_FIND)
				((struct softmem_find *)(void *)c->s)->position =
					rnd64(f);
		}
		break;
	}
	case SOFTMEM_CMD_COMPARE: {
		struct softmem_compare *a = (void *)c->s;
		bool user = rnd(f, 2);

		a->handle = gen_handle(f, p, &region);
		if (user) {
			a->flags = SOFTMEM_COMPARE_USER;
			region2 = DATA_BYTES;
		} else {
			a->other_handle = gen_handle(f, p, &region2);
		}
		if (good) {
			uint64_t span = region < region2 ? region : region2;

			a->length = rnd(f, span + 1);
			a->offset = rnd(f, region - a->length + 1);
			if (user)
				a->addr = (uintptr_t)f->data +
					  rnd(f, DATA_BYTES - a->length + 1);
			else
				a->other_offset = rnd(f, region2 - a->length + 1);
		} else {
			a->flags = rnd(f, 4) ? a->flags :
				   gen_flags(f, SOFTMEM_COMPARE_VALID_FLAGS);
			gen_range(f, region, &a->offset, &a->length);
			if (!user || !rnd(f, 4))
				a->other_offset = gen_span(f, region2);
			if (user || !rnd(f, 4))
				a->addr = gen_addr(f, a->length);
			a->result = (int32_t)rnd64(f);
			a->__reserved = gen_reserved(f);
			if (user && !rnd(f, 8))
				a->other_handle = gen_handle(f, p, &region2);
		}
		break;
	}
	case SOFTMEM_CMD_STATS: {
		struct softmem_stats *a = (void *)c->s;

		if (!good)
			a->flags = gen_flags(f, 0);
		break;
	}
	case SOFTMEM_CMD_CONFIGURE: {
		struct softmem_configure *a = (void *)c->s;

		a->flags = good ? SOFTMEM_CONFIGURE_LIMIT :
			   gen_flags(f, SOFTMEM_CONFIGURE_VALID_FLAGS);
		a->limit_bytes = good ? FUZZ_CAP - rnd(f, FUZZ_CAP / 2) :
				 gen_span(f, FUZZ_CAP);
		/* Takes effect only in a pool without regions. */
		if (good && !rnd(f, 4)) {
			a->flags |= SOFTMEM_CONFIGURE_POLICY;
			a->policy = rnd(f, 2);
		}
		/* Takes effect only in a pool that never had a handle. */
		if (good && !rnd(f, 8)) {
			a->flags |= SOFTMEM_CONFIGURE_WORDS;
			a->nr_words = 2 + rnd(f, 4096);
		}
		if (!good) {
			a->policy = rnd(f, 2) ? rnd(f, 3) : gen_reserved(f);
			a->nr_words = rnd(f, 2) ? rnd(f, 8) : gen_reserved(f);
		}
		break;
	}
	case SOFTMEM_CMD_NODE_STATS: {
		struct softmem_node_stats *a = (void *)c->s;

		a->node = good || rnd(f, 2) ? rnd(f, 2) : (uint32_t)rnd64(f);
		if (!good) {
			a->flags = gen_flags(f, 0);
			a->__reserved = gen_reserved(f);
		}
		break;
	}
	case SOFTMEM_CMD_SET_PRIORITY: {
		struct softmem_set_priority *a = (void *)c->s;

		a->handle = gen_handle(f, p, &region);
		a->priority = good || rnd(f, 2) ?
			      rnd(f, SOFTMEM_NR_PRIORITIES) : gen_reserved(f);
		if (!good) {
			a->flags = gen_flags(f, 0);
			a->__reserved = gen_reserved(f);
		}
		break;
	}
	case SOFTMEM_CMD_EXPORT: {
		struct softmem_export *a = (void *)c->s;

		a->handle = gen_handle(f, p, &region);
		if (good) {
			a->flags = rnd(f, 4) ? 0 : SOFTMEM_EXPORT_NO_CLOEXEC;
		} else {
			a->flags = gen_flags(f, SOFTMEM_EXPORT_VALID_FLAGS);
			a->fd = rnd(f, 2) ? 0 : (uint32_t)rnd64(f);
			a->__reserved = gen_reserved(f);
		}
		break;
	}
	case SOFTMEM_CMD_BATCH: {
		struct softmem_batch *a = (void *)c->s;
		unsigned int i, n = rnd(f, FUZZ_BATCH + 1);

		for (i = 0; i < n; i++)
			f->batch[i] = (struct softmem_batch_entry) {
				.handle = gen_handle(f, p, &region),
				.op = good || rnd(f, 4) ? rnd(f, 3) :
					(uint32_t)rnd64(f),
			};
		a->count = n;
		a->entry_size = sizeof(f->batch[0]);
		if (!good && rnd(f, 2))
			a->entry_size = rnd(f, 2 * sizeof(f->batch[0]));
		/*
		 * Results are written into the entries: only the thread's own
		 * array, or scratch and bad memory, never past that array.
		 */
		a->entries = a->entry_size == sizeof(f->batch[0]) &&
			     (good || rnd(f, 2)) ? (uintptr_t)f->batch :
			     gen_addr(f, (uint64_t)n * a->entry_size);
		if (!good) {
			a->flags = gen_flags(f, 0);
			a->__reserved = gen_reserved(f);
			a->done = (uint32_t)rnd64(f);
		}
		break;
	}
	case SOFTMEM_CMD_IMPORT: {
		struct softmem_import *a = (void *)c->s;

		a->fd = gen_import_fd(f, &c->slot);
		if (!good) {
			a->flags = gen_flags(f, 0);
			a->__reserved = gen_reserved(f);
			a->handle = rnd(f, 2) ? 0 : rnd64(f);
			a->length = rnd(f, 2) ? 0 : rnd64(f);
		}
		break;
	}
	}
	c->placed = struct_size[c->nr];
	((uint32_t *)c->s)[0] = c->placed;
}

/* ---- where the struct goes ---- */

static void place_good(struct fuzzer *f, struct fuzz_call *c)
{
	c->arg = f->data + rnd(f, DATA_BYTES - c->placed + 1);
	if (rnd(f, 4))
		c->arg = (uint8_t *)((uintptr_t)c->arg & ~7UL);
	memcpy(c->arg, c->s, c->placed);
	c->readable = true;
}

static void place_ro(struct fuzzer *f, struct fuzz_call *c)
{
	c->arg = f->ro + rnd(f, f->page - c->placed + 1);
	mprotect(f->ro, f->page, PROT_READ | PROT_WRITE);
	memcpy(c->arg, c->s, c->placed);
	mprotect(f->ro, f->page, PROT_READ);
	c->readable = true;
}

/* Only the first @fit bytes are mapped. */
static void place_edge(struct fuzzer *f, struct fuzz_call *c, size_t fit)
{
	c->arg = f->edge + f->page - fit;
	memcpy(c->arg, c->s, fit);
}

static uint8_t *bad_pointer(struct fuzzer *f)
{
	static const uint64_t bad[] = {
		0, 0xffff888000000000ULL, 0xffffffff81000000ULL,
		0x8000000000000000ULL, UINT64_MAX - 3, 0x10,
	};

	switch (rnd(f, 3)) {
	case 0:
		return f->none + rnd(f, f->page - 8);
	case 1:
		return (uint8_t *)(uintptr_t)bad[rnd(f, ARRAY_SIZE(bad))];
	default:
		return f->hole;
	}
}

/* ---- checks ---- */

/* The struct as the kernel saw it: bytes past the size field's end are 0. */
static void effective(const struct fuzz_call *c, uint8_t *eff)
{
	uint32_t usize = ((const uint32_t *)c->s)[0];

	memcpy(eff, c->s, STRUCT_MAX);
	if (usize < STRUCT_MAX)
		memset(eff + usize, 0, STRUCT_MAX - usize);
}

/* Results as the kernel left them at @c->arg, in an aligned copy. */
static void results(const struct fuzz_call *c, uint64_t *out)
{
	memset(out, 0, STRUCT_MAX);
	memcpy(out, c->arg, c->placed);
}

static bool output_sane(struct fuzz_call *c, char *why, size_t size)
{
	uint32_t usize = ((uint32_t *)c->s)[0];
	uint64_t out[STRUCT_MAX / 8], eff[STRUCT_MAX / 8];
	const struct softmem_alloc *alloc = (const void *)out;
	const struct softmem_resume *resume = (const void *)out;
	const struct softmem_compare *cmp = (const void *)out;
	const struct softmem_find *find = (const void *)out;
	const struct softmem_stats *st = (const void *)out;
	const struct softmem_node_stats *ns = (const void *)out;
	const struct softmem_import *imp = (const void *)out;
	const struct softmem_batch *batch = (const void *)out;
	const struct softmem_batch *batch_asked = (const void *)eff;
	const struct softmem_find *asked = (const void *)eff;
	const char *name;
	int64_t value;

	results(c, out);
	effective(c, (uint8_t *)eff);

#define FITS(type, field)	(usize >= offsetofend(type, field))
	switch (c->nr) {
	case SOFTMEM_CMD_ALLOC:
		if (FITS(struct softmem_alloc, handle) &&
		    (!alloc->handle || alloc->handle > UINT32_MAX)) {
			snprintf(why, size, "handle %llu",
				 (unsigned long long)alloc->handle);
			return false;
		}
		break;
	case SOFTMEM_CMD_BATCH:
		if (FITS(struct softmem_batch, done) &&
		    batch->done != batch_asked->count) {
			snprintf(why, size, "done %u of %u", batch->done,
				 batch_asked->count);
			return false;
		}
		break;
	case SOFTMEM_CMD_RESUME:
		if (FITS(struct softmem_resume, state) &&
		    resume->state != SOFTMEM_INTACT &&
		    resume->state != SOFTMEM_DISCARDED) {
			snprintf(why, size, "state %u", resume->state);
			return false;
		}
		break;
	case SOFTMEM_CMD_COMPARE:
		if (FITS(struct softmem_compare, result) &&
		    (cmp->result < -1 || cmp->result > 1)) {
			snprintf(why, size, "result %d", cmp->result);
			return false;
		}
		break;
	case SOFTMEM_CMD_FIND:
		if (FITS(struct softmem_find, position) && find->position != -1 &&
		    ((uint64_t)find->position < asked->offset ||
		     (uint64_t)find->position - asked->offset >= asked->length)) {
			snprintf(why, size, "position %lld",
				 (long long)find->position);
			return false;
		}
		break;
	case SOFTMEM_CMD_STATS:
		if (!FITS(struct softmem_stats, discard_events))
			break;
		name = stats_negative(st, &value);
		if (name) {
			snprintf(why, size, "negative %s %lld", name,
				 (long long)value);
			return false;
		}
		break;
	case SOFTMEM_CMD_NODE_STATS:
		/* A counter gone below zero reads as a huge byte count. */
		if (FITS(struct softmem_node_stats, suspended_bytes) &&
		    ((int64_t)ns->resident_bytes < 0 ||
		     (int64_t)ns->suspended_bytes < 0)) {
			snprintf(why, size, "negative node bytes %lld/%lld",
				 (long long)ns->resident_bytes,
				 (long long)ns->suspended_bytes);
			return false;
		}
		break;
	case SOFTMEM_CMD_IMPORT:
		if (FITS(struct softmem_import, handle) &&
		    (!imp->handle || imp->handle > UINT32_MAX)) {
			snprintf(why, size, "handle %llu",
				 (unsigned long long)imp->handle);
			return false;
		}
		if (FITS(struct softmem_import, length) &&
		    (!imp->length || imp->length % page_size() ||
		     imp->length > SOFTMEM_MAX_LENGTH)) {
			snprintf(why, size, "length %llu",
				 (unsigned long long)imp->length);
			return false;
		}
		break;
	}
#undef FITS
	return true;
}

/* After a successful ALLOC: keep small regions, free big ones at once. */
static void track_alloc(struct fuzzer *f, struct fuzz_call *c)
{
	uint64_t out[STRUCT_MAX / 8], eff[STRUCT_MAX / 8];
	const struct softmem_alloc *got = (const void *)out;
	const struct softmem_alloc *asked = (const void *)eff;
	struct softmem_free arg = { .size = sizeof(arg) };
	long ret;

	results(c, out);
	effective(c, (uint8_t *)eff);
	arg.handle = got->handle;
	if (asked->size < offsetofend(struct softmem_alloc, handle))
		return;
	if (asked->length <= REGION_MAX) {
		pool_add(c->pool, got->handle, page_round_up(asked->length));
		return;
	}
	ret = issue(c->pool->fd, SOFTMEM_IOC_FREE, &arg);
	atomic_fetch_add(&f->calls, 1);
	if (ret && !(ret == -EBADF && c->pool->racy) &&
	    !(ret == -ENOENT && c->pool != &f->own))
		unexpected(f, "free of new region %llu: %s",
			   (unsigned long long)got->handle, err_name(ret));
}

/*
 * After a successful EXPORT: the descriptor must be open, close-on-exec
 * unless SOFTMEM_EXPORT_NO_CLOEXEC; keep it to import and map.
 */
static void track_export(struct fuzzer *f, struct fuzz_call *c)
{
	uint64_t out[STRUCT_MAX / 8], eff[STRUCT_MAX / 8];
	const struct softmem_export *got = (const void *)out;
	const struct softmem_export *asked = (const void *)eff;
	bool cloexec = true;
	int fd, flags;

	results(c, out);
	effective(c, (uint8_t *)eff);
	if (asked->size < offsetofend(struct softmem_export, fd)) {
		unexpected(f, "EXPORT of a %u-byte struct, with no room for the descriptor, succeeded",
			   asked->size);
		return;
	}
	fd = got->fd;
	/*
	 * The racer closes the racy pool's descriptor and dup2()s another
	 * over it: an export in between gets that number, and loses it.
	 */
	if (fd == racy_pool.fd)
		return;
	flags = fcntl(fd, F_GETFD);
	if (flags >= 0)
		cloexec = flags & FD_CLOEXEC;
	if (flags < 0 ||
	    cloexec == !!(asked->flags & SOFTMEM_EXPORT_NO_CLOEXEC)) {
		unexpected(f, "EXPORT with flags %#x gave fd %d: %s",
			   asked->flags, fd, flags < 0 ? strerror(errno) :
			   cloexec ? "close-on-exec" : "not close-on-exec");
		if (flags < 0)
			return;
	}
	export_add(f, fd);
}

/* After a successful IMPORT: use the handle, learn the region's length. */
static void track_import(struct fuzzer *f, struct fuzz_call *c)
{
	uint64_t out[STRUCT_MAX / 8], eff[STRUCT_MAX / 8];
	const struct softmem_import *got = (const void *)out;
	const struct softmem_import *asked = (const void *)eff;
	uint64_t length = 0;

	results(c, out);
	effective(c, (uint8_t *)eff);
	if (asked->size < offsetofend(struct softmem_import, handle))
		return;
	if (asked->size >= offsetofend(struct softmem_import, length))
		length = got->length;
	if (c->slot >= 0 && f->exported[c->slot].used &&
	    (uint32_t)f->exported[c->slot].fd == asked->fd && length)
		f->exported[c->slot].length = length;
	/* Data operations on a shared pool stay short: see REGION_MAX. */
	if (length <= REGION_MAX)
		pool_add(c->pool, got->handle, length);
}

/* What is wrong with result @ret of call @c, in @why; false if nothing. */
static bool wrong(struct fuzz_call *c, long ret, char *why, size_t size)
{
	bool racy = c->pool->racy;

	if (ret > 0)
		snprintf(why, size, "positive return");
	/*
	 * While the racer has the racy pool's number closed, it is EBADF, or
	 * names a region another thread exported meanwhile: ENOTTY.
	 */
	else if (c->exact && ret != c->exact &&
		 !(racy && (ret == -EBADF || ret == -ENOTTY)))
		snprintf(why, size, "want %s", err_name(c->exact));
	else if (!documented(ret, racy || c->nr == SOFTMEM_CMD_IMPORT))
		snprintf(why, size, "undocumented errno");
	else if (!ret && c->nr >= 0 && c->readable)
		return !output_sane(c, why, size);
	else
		return false;
	return true;
}

static void check(struct fuzzer *f, struct fuzz_call *c, long ret)
{
	bool racy = c->pool->racy, bad;
	char why[64] = "", buf[200];

	bad = wrong(c, ret, why, sizeof(why));
	if (bad)
		unexpected(f, "%s: ioctl(%s, %#lx, struct %s) = %ld (%s): %s",
			   c->what, racy ? "racy pool" : c->pool == &f->own ?
			   "own pool" : c->pool == &f->big ? "big pool" : "pool",
			   c->cmd, hex(c, buf, sizeof(buf)), ret, err_name(ret),
			   why);
	if (bad || ret || !c->readable)
		return;
	if (c->nr == SOFTMEM_CMD_ALLOC)
		track_alloc(f, c);
	else if (c->nr == SOFTMEM_CMD_EXPORT)
		track_export(f, c);
	else if (c->nr == SOFTMEM_CMD_IMPORT)
		track_import(f, c);
}

/* regions and length_bytes of @p, to see that a failed call changed nothing. */
static bool own_shape(struct fuzz_pool *p, uint64_t *shape)
{
	struct softmem_stats st;

	if (pool_stats(p->fd, &st))
		return false;
	shape[0] = st.regions;
	shape[1] = st.length_bytes;
	return true;
}

/*
 * Regions longer than REGION_MAX go to the thread's own pool, which frees
 * them before any other call: a long region with a long range to search in a
 * shared pool could keep another thread busy for hours.
 */
static void keep_long_regions_private(struct fuzzer *f, struct fuzz_call *c)
{
	uint64_t eff[STRUCT_MAX / 8];
	const struct softmem_alloc *a = (const void *)eff;

	if (c->nr != SOFTMEM_CMD_ALLOC || !c->readable)
		return;
	effective(c, (uint8_t *)eff);
	if (a->length > REGION_MAX && a->length <= SOFTMEM_MAX_LENGTH)
		c->pool = &f->own;
}

/* ---- KCOV: the edges of softmem's code each call reaches ---- */

/*
 * Traces this thread's calls into the kernel (KCOV_ENABLE ties the trace to
 * the thread that asks).  False when KCOV is there and cannot be enabled.
 */
static bool kcov_enable(struct fuzzer *f)
{
	size_t bytes = KCOV_WORDS * sizeof(unsigned long);
	void *cover;
	int fd;

	fd = open(KCOV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	f->kept = calloc(KEPT_SLOTS, sizeof(*f->kept));
	if (!f->kept || ioctl(fd, KCOV_INIT_TRACE, KCOV_WORDS))
		goto fail;
	cover = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (cover == MAP_FAILED)
		goto fail;
	if (ioctl(fd, KCOV_ENABLE, KCOV_TRACE_PC)) {
		munmap(cover, bytes);
		goto fail;
	}
	f->kcov = fd;
	f->cover = cover;
	return true;
fail:
	say("# fuzz: thread %u: KCOV: %s", f->id, strerror(errno));
	free(f->kept);
	f->kept = NULL;
	close(fd);
	return false;
}

static void kcov_disable(struct fuzzer *f)
{
	if (f->cover)
		munmap(f->cover, KCOV_WORDS * sizeof(unsigned long));
	if (f->kcov > 0)
		close(f->kcov);
	free(f->kept);
	f->cover = NULL;
	f->kcov = -1;
	f->kept = NULL;
}

static void kcov_reset(struct fuzzer *f)
{
	if (f->cover)
		__atomic_store_n(&f->cover[0], 0, __ATOMIC_RELAXED);
}

/* How many edges of the trace since kcov_reset() no call reached before. */
static unsigned int kcov_new_edges(struct fuzzer *f)
{
	unsigned long n, i, prev = 0;
	unsigned int fresh = 0;

	if (!f->cover)
		return 0;
	n = __atomic_load_n(&f->cover[0], __ATOMIC_RELAXED);
	if (n > KCOV_WORDS - 1)
		n = KCOV_WORDS - 1;
	for (i = 1; i <= n; i++) {
		unsigned long pc = f->cover[i];
		uint64_t e = ((prev * 0x9e3779b97f4a7c15ULL) ^ pc) *
			     0xff51afd7ed558ccdULL >> (64 - EDGE_BITS);
		unsigned long bit = 1UL << (e % 64);

		prev = pc;
		if (atomic_load_explicit(&edge_map[e / 64],
					 memory_order_relaxed) & bit)
			continue;
		if (!(atomic_fetch_or(&edge_map[e / 64], bit) & bit))
			fresh++;
	}
	if (fresh)
		atomic_fetch_add(&edge_total, fresh);
	return fresh;
}

static enum fuzz_pool_kind pool_kind(struct fuzzer *f, struct fuzz_pool *p)
{
	if (p == &f->own)
		return POOL_OWN;
	if (p == &f->big)
		return POOL_BIG;
	return p == &racy_pool ? POOL_RACY : POOL_SHARED;
}

static struct fuzz_pool *pool_of(struct fuzzer *f, enum fuzz_pool_kind kind)
{
	switch (kind) {
	case POOL_OWN:
		return &f->own;
	case POOL_BIG:
		return &f->big;
	case POOL_RACY:
		return &racy_pool;
	default:
		return &shared_pool;
	}
}

/*
 * Keeps a call that reached new edges, if it can be made again: a softmem
 * command whose struct was placed in the thread's data buffer (its
 * pointers point there or fault, see keep_pointers_safe()).
 */
static void keep_call(struct fuzzer *f, const struct fuzz_call *c)
{
	struct fuzz_kept *k;

	if (fuzz_blind || !f->kept || c->nr < 0 || !c->readable ||
	    c->arg < f->data || c->arg >= f->data + DATA_BYTES)
		return;
	k = &f->kept[f->nr_kept < KEPT_SLOTS ? f->nr_kept++ :
		     rnd(f, KEPT_SLOTS)];
	k->pool = pool_kind(f, c->pool);
	k->cmd = c->cmd;
	k->nr = c->nr;
	k->placed = c->placed;
	memcpy(k->s, c->s, STRUCT_MAX);
	f->kept_total++;
}

static void run(struct fuzzer *f, struct fuzz_call *c)
{
	uint64_t before[2] = { 0 }, after[2] = { 0 };
	bool watch;
	long ret;

	keep_long_regions_private(f, c);
	watch = c->pool == &f->own && !rnd(f, 4) && own_shape(c->pool, before);
	kcov_reset(f);
	ret = issue(c->pool->fd, c->cmd, c->arg);
	if (kcov_new_edges(f))
		keep_call(f, c);

	atomic_fetch_add(&f->calls, 1);
	check(f, c, ret);
	if (watch && ret < 0 && own_shape(c->pool, after) &&
	    (before[0] != after[0] || before[1] != after[1])) {
		char buf[200];

		unexpected(f, "%s: cmd %#lx failed with %s but the pool went from %llu regions, %llu bytes to %llu, %llu (struct %s)",
			   c->what, c->cmd, err_name(ret),
			   (unsigned long long)before[0],
			   (unsigned long long)before[1],
			   (unsigned long long)after[0],
			   (unsigned long long)after[1],
			   hex(c, buf, sizeof(buf)));
	}
}

/* ---- kinds of calls ---- */

/* A command softmem does not know: ENOTTY, whatever the argument. */
static void fuzz_bad_command(struct fuzzer *f, struct fuzz_call *c)
{
	/* Magics the VFS answers itself for any file: not softmem's to judge. */
	static const uint8_t vfs_magic[] = { 0x00, 0x15, 'T', 'X', 'f', 0x94 };
	unsigned int nr = rnd(f, NR_CMDS), i;
	uint32_t cmd;

	switch (rnd(f, 5)) {
	case 0:
		cmd = _IO(SOFTMEM_IOCTL_MAGIC, NR_CMDS + rnd(f, 256 - NR_CMDS));
		break;
	case 1:
		cmd = _IOW(SOFTMEM_IOCTL_MAGIC, nr, struct softmem_rw);
		cmd = (cmd & ~_IOC_SIZEMASK) |
		      (rnd(f, 2) ? struct_size[nr] : rnd(f, 1 << _IOC_SIZEBITS))
		      << _IOC_SIZESHIFT;
		cmd = (cmd & ~(_IOC_DIRMASK << _IOC_DIRSHIFT)) |
		      (1 + rnd(f, 3)) << _IOC_DIRSHIFT;
		break;
	case 2:
		cmd = _IO(rnd(f, 256), nr);
		break;
	case 3:
		cmd = (uint32_t)rnd64(f);
		break;
	default:
		cmd = _IO(SOFTMEM_IOCTL_MAGIC, nr) ^ (1U << rnd(f, 32));
		break;
	}
	for (i = 0; i < sizeof(vfs_magic); i++)
		if (_IOC_TYPE(cmd) == vfs_magic[i])
			cmd = (cmd & ~(_IOC_TYPEMASK << _IOC_TYPESHIFT)) |
			      SOFTMEM_IOCTL_MAGIC << _IOC_TYPESHIFT;
	if (_IOC_TYPE(cmd) == SOFTMEM_IOCTL_MAGIC && _IOC_NR(cmd) < NR_CMDS &&
	    cmd == _IO(SOFTMEM_IOCTL_MAGIC, _IOC_NR(cmd)))
		cmd |= _IOC_READ << _IOC_DIRSHIFT;
	c->cmd = cmd;
	c->what = "unknown command";
	c->exact = -ENOTTY;
	c->nr = rnd(f, NR_CMDS);
	gen_struct(f, c, rnd(f, 2));
	c->nr = -1;
	if (rnd(f, 4))
		place_good(f, c);
	else
		c->arg = bad_pointer(f);
}

/* A command with fields from the value classes. */
static void fuzz_fields(struct fuzzer *f, struct fuzz_call *c)
{
	c->what = "random fields";
	gen_struct(f, c, false);
	place_good(f, c);
}

/* One to four bits of the struct flipped. */
static void flip_bits(struct fuzzer *f, struct fuzz_call *c)
{
	unsigned int flips = 1 + rnd(f, 4), i;

	for (i = 0; i < flips; i++) {
		size_t bit = rnd(f, c->placed * 8);

		/* The size field: low bits only, or every call is E2BIG. */
		if (bit < 32 && rnd(f, 2))
			bit %= 8;
		c->s[bit / 8] ^= 1 << (bit % 8);
	}
}

/*
 * A read writes to its buffer: a changed pointer could land in the
 * fuzzer's own stacks or heap and crash it.  Keep it in the data buffer,
 * or make it fault.
 */
static void keep_pointers_safe(struct fuzzer *f, struct fuzz_call *c)
{
	if (c->nr == SOFTMEM_CMD_READ) {
		struct softmem_rw *rw = (struct softmem_rw *)c->s;

		if (rw->addr - (uintptr_t)f->data >= DATA_BYTES)
			rw->addr = (uintptr_t)f->none;
	}
	/* A batch writes results into its entries: the same for them. */
	if (c->nr == SOFTMEM_CMD_BATCH) {
		struct softmem_batch *b = (struct softmem_batch *)c->s;
		uint64_t span = (uint64_t)b->count * b->entry_size;
		bool own = b->entries == (uintptr_t)f->batch &&
			   span <= sizeof(f->batch);
		bool scratch = b->entries - (uintptr_t)f->data < DATA_BYTES &&
			       span <= DATA_BYTES -
				       (b->entries - (uintptr_t)f->data);

		if (!own && !scratch)
			b->entries = (uintptr_t)f->none;
	}
}

/* A valid call with one to four bits flipped, anywhere in the struct. */
static void fuzz_mutation(struct fuzzer *f, struct fuzz_call *c)
{
	c->what = "mutated call";
	gen_struct(f, c, true);
	flip_bits(f, c);
	keep_pointers_safe(f, c);
	place_good(f, c);
}

/*
 * KCOV mode: a kept call (one that reached new edges), with bits flipped,
 * or spliced into a valid call of the same command (regions that exist
 * now, a range of the kept call's bytes over them).
 */
static void fuzz_kept(struct fuzzer *f, struct fuzz_call *c)
{
	const struct fuzz_kept *k = &f->kept[rnd(f, f->nr_kept)];
	size_t from, len;

	c->pool = pool_of(f, k->pool);
	c->cmd = k->cmd;
	c->nr = k->nr;
	if (rnd(f, 2)) {
		c->what = "kept call, mutated";
		memcpy(c->s, k->s, STRUCT_MAX);
		c->placed = k->placed;
		flip_bits(f, c);
	} else {
		c->what = "kept call, spliced";
		gen_struct(f, c, true);
		from = rnd(f, c->placed);
		len = 1 + rnd(f, c->placed - from);
		memcpy(c->s + from, k->s + from, len);
	}
	f->replays++;
	keep_pointers_safe(f, c);
	place_good(f, c);
}

/* A struct where the kernel cannot read it, or cannot write results. */
static void fuzz_bad_struct(struct fuzzer *f, struct fuzz_call *c)
{
	size_t fit;

	gen_struct(f, c, rnd(f, 2));
	switch (rnd(f, 3)) {
	case 0:
		c->what = "unreadable struct";
		c->arg = bad_pointer(f);
		c->exact = -EFAULT;
		break;
	case 1:
		c->what = "struct cut by a PROT_NONE page";
		fit = rnd(f, c->placed);
		place_edge(f, c, fit);
		c->exact = -EFAULT;
		break;
	default:
		c->what = "read-only struct";
		place_ro(f, c);
		if (has_output(c->nr))
			c->exact = -EFAULT;
		break;
	}
}

/* Sizes: too short, longer with a zero or nonzero tail, huge. */
static void fuzz_size(struct fuzzer *f, struct fuzz_call *c)
{
	uint32_t *size = (uint32_t *)c->s;
	size_t tail;

	gen_struct(f, c, true);
	switch (rnd(f, 5)) {
	case 0:
		c->what = "struct shorter than its header";
		*size = rnd(f, 8);
		c->exact = -EINVAL;
		break;
	case 1:
		c->what = "shorter struct";
		*size = 8 + rnd(f, c->placed - 8);
		break;
	case 2:
		c->what = "longer struct, zero tail";
		tail = 1 + rnd(f, STRUCT_MAX - c->placed);
		*size = c->placed + tail;
		c->placed += tail;
		break;
	case 3:
		c->what = "longer struct, nonzero tail";
		tail = 1 + rnd(f, STRUCT_MAX - c->placed);
		c->s[c->placed + rnd(f, tail)] = 1 + rnd(f, 255);
		*size = c->placed + tail;
		c->placed += tail;
		c->exact = -E2BIG;
		break;
	default:
		c->what = "huge struct";
		*size = rnd(f, 2) ? UINT32_MAX - rnd(f, 4) :
			f->page + 1 + rnd(f, 1 << 20);
		break;
	}
	place_good(f, c);
}

/* An IMPORT, valid but for its descriptor, whose answer is known. */
static void fuzz_import_fd(struct fuzzer *f, struct fuzz_call *c)
{
	struct softmem_import *a = (void *)c->s;
	int slot = export_pick(f);

	c->nr = SOFTMEM_CMD_IMPORT;
	c->cmd = _IO(SOFTMEM_IOCTL_MAGIC, c->nr);
	gen_struct(f, c, true);
	c->slot = -1;
	switch (rnd(f, 4)) {
	case 0:
		c->what = "import of a descriptor that is not open";
		a->fd = rnd(f, 2) ? UINT32_MAX : 1U << 20;
		c->exact = -EBADF;
		break;
	case 1:
		c->what = "import of a descriptor of no region";
		a->fd = rnd(f, 2) ? null_fd : f->own.fd;
		c->exact = -EINVAL;
		break;
	default:
		c->what = "import of an exported region";
		if (slot >= 0) {
			a->fd = f->exported[slot].fd;
			c->slot = slot;
		}
		break;
	}
	place_good(f, c);
}

/* ---- mappings of exported regions ---- */

static const int map_prots[] = {
	PROT_NONE, PROT_READ, PROT_WRITE, PROT_READ | PROT_WRITE,
};

/* An mmap() offset into a region of @region bytes (0 if unknown). */
static uint64_t gen_map_offset(struct fuzzer *f, uint64_t region)
{
	uint64_t pages = region ? region / f->page : 16;

	switch (rnd(f, 10)) {
	case 0 ... 5:
		return rnd(f, pages) * f->page;
	case 6:
		return 0;
	case 7:		/* at the end, or a page past it */
		return (pages + rnd(f, 2)) * f->page;
	case 8:		/* not page-aligned */
		return rnd(f, pages) * f->page + 1 + rnd(f, f->page - 1);
	default:
		return SOFTMEM_MAX_LENGTH << rnd(f, 24);
	}
}

/* An mmap() length from @offset of a region of @region bytes. */
static uint64_t gen_map_length(struct fuzzer *f, uint64_t region,
			       uint64_t offset)
{
	uint64_t end = region ? region : 16 * f->page;
	uint64_t room = end > offset ? end - offset : 0;

	switch (rnd(f, 10)) {
	case 0 ... 4:
		return f->page * (1 + rnd(f, room / f->page));
	case 5:
		return room;
	case 6:
		return room + f->page;
	case 7:
		return 1 + rnd(f, room + 1);
	case 8:
		return 0;
	default:
		return rnd(f, 2) ? SOFTMEM_MAX_LENGTH + f->page :
				   SIZE_MAX - rnd(f, f->page);
	}
}

/*
 * The answer to an mmap() of @length bytes at @offset of a region of
 * @region bytes (0 if unknown), @err or 0: EINVAL for MAP_PRIVATE and for a
 * range past the end, a mapping (or ENOMEM) for a range that fits.
 */
static void map_check(struct fuzzer *f, uint64_t region, uint64_t offset,
		      uint64_t length, bool private, int err)
{
	bool sane, fits;

	sane = length && length <= SOFTMEM_MAX_LENGTH &&
	       offset <= SOFTMEM_MAX_LENGTH && !(offset % f->page);
	fits = region && sane && offset + page_round_up(length) <= region;
	if (err && err != EINVAL && err != ENOMEM && err != EOVERFLOW)
		unexpected(f, "mmap(%#llx bytes at %#llx of a %#llx-byte region): %s",
			   (unsigned long long)length,
			   (unsigned long long)offset,
			   (unsigned long long)region, strerror(err));
	else if (sane && (private || (region && !fits)) && err != EINVAL)
		unexpected(f, "mmap(%s, %#llx bytes at %#llx of a %#llx-byte region): %s, want EINVAL",
			   private ? "MAP_PRIVATE" : "MAP_SHARED",
			   (unsigned long long)length,
			   (unsigned long long)offset,
			   (unsigned long long)region,
			   err ? strerror(err) : "mapped");
	else if (fits && !private && err && err != ENOMEM)
		unexpected(f, "mmap(%#llx bytes at %#llx of a %#llx-byte region): %s",
			   (unsigned long long)length,
			   (unsigned long long)offset,
			   (unsigned long long)region, strerror(err));
}

/* mmap() of an exported descriptor, its answer checked by map_check(). */
static void map_new(struct fuzzer *f)
{
	int slot = export_pick(f), prot = map_prots[rnd(f, 4)], err = 0;
	bool private = !rnd(f, 8);
	uint64_t region, offset, length;
	void *addr;

	if (slot < 0)
		return;
	region = f->exported[slot].length;
	offset = gen_map_offset(f, region);
	length = gen_map_length(f, region, offset);
	addr = mmap(NULL, length, prot, private ? MAP_PRIVATE : MAP_SHARED,
		    f->exported[slot].fd, (off_t)offset);
	if (addr == MAP_FAILED)
		err = errno;
	atomic_fetch_add(&map_count[err ? MAP_REFUSED : MAP_MADE], 1);

	map_check(f, region, offset, length, private, err);
	if (!err)
		map_add(f, addr, page_round_up(length), prot);
}

/*
 * Read or write @length bytes at @at of mapping @m.  SIGSEGV comes exactly
 * where the protection forbids the access; SIGBUS (a discarded region, or
 * no page to be had) only where it allows it; either at an address touched.
 */
static void map_touch_at(struct fuzzer *f, const struct fuzz_map *m,
			 uint8_t *at, size_t length, bool write)
{
	uint8_t buf[TOUCH_MAX], *fault_at;
	struct map_fault fault;
	bool forbidden;
	int sig;

	if (length > (size_t)(m->addr + m->length - at))
		length = m->addr + m->length - at;
	memset(buf, (uintptr_t)at, length);
	sig = write ? map_copy(at, buf, length, &fault) :
		      map_copy(buf, at, length, &fault);
	atomic_fetch_add(&map_count[sig == SIGBUS ? MAP_SIGBUS :
				    sig == SIGSEGV ? MAP_SIGSEGV :
				    MAP_TOUCHED], 1);
	fault_at = fault.addr;
	forbidden = m->prot == PROT_NONE ||
		    (write && !(m->prot & PROT_WRITE));
	if (sig && (fault_at < at || fault_at >= at + length))
		unexpected(f, "signal %d at %p touching %zu bytes at %p",
			   sig, fault.addr, length, at);
	else if (m->prot >= 0 && forbidden && sig != SIGSEGV)
		unexpected(f, "%s of a mapping with prot %#x: %s, want SIGSEGV",
			   write ? "write" : "read", m->prot,
			   sig ? strsignal(sig) : "no signal");
	else if (m->prot >= 0 && !forbidden && sig == SIGSEGV)
		unexpected(f, "%s of a mapping with prot %#x: SIGSEGV",
			   write ? "write" : "read", m->prot);
}

/* A few bytes anywhere in a mapping. */
static void map_touch(struct fuzzer *f)
{
	struct fuzz_map *m = map_pick(f);

	if (m)
		map_touch_at(f, m, m->addr + rnd(f, m->length),
			     1 + rnd(f, TOUCH_MAX), rnd(f, 2));
}

/* mprotect() or madvise(MADV_DONTNEED) of some pages of a mapping. */
static void map_protect(struct fuzzer *f)
{
	struct fuzz_map *m = map_pick(f);
	int prot = map_prots[rnd(f, 4)];
	size_t pages, first, n;
	uint8_t *addr;

	if (!m)
		return;
	pages = m->length / f->page;
	first = rnd(f, pages);
	n = 1 + rnd(f, pages - first);
	addr = m->addr + first * f->page;
	if (!rnd(f, 4)) {
		if (madvise(addr, n * f->page, MADV_DONTNEED))
			unexpected(f, "madvise(MADV_DONTNEED) of %zu pages of a mapping: %s",
				   n, strerror(errno));
		atomic_fetch_add(&map_count[MAP_ADVISED], 1);
		return;
	}
	if (mprotect(addr, n * f->page, prot)) {
		unexpected(f, "mprotect(%#x) of %zu pages of a mapping: %s",
			   prot, n, strerror(errno));
		return;
	}
	atomic_fetch_add(&map_count[MAP_PROTECTED], 1);
	if (n == pages)
		m->prot = prot;
	else if (m->prot != prot)
		m->prot = -1;
}

/* munmap() of a mapping, whole or its first pages. */
static void map_drop(struct fuzzer *f)
{
	struct fuzz_map *m = map_pick(f);
	size_t pages, cut;

	if (!m)
		return;
	pages = m->length / f->page;
	cut = rnd(f, 2) ? pages : 1 + rnd(f, pages);
	if (munmap(m->addr, cut * f->page)) {
		unexpected(f, "munmap of %zu of %zu pages of a mapping: %s",
			   cut, pages, strerror(errno));
		return;
	}
	atomic_fetch_add(&map_count[MAP_UNMAPPED], 1);
	if (cut == pages) {
		m->used = false;
		return;
	}
	m->addr += cut * f->page;
	m->length -= cut * f->page;
}

static void fuzz_mapping(struct fuzzer *f)
{
	switch (rnd(f, 8)) {
	case 0 ... 1:
		map_new(f);
		break;
	case 2 ... 4:
		map_touch(f);
		break;
	case 5 ... 6:
		map_protect(f);
		break;
	default:
		map_drop(f);
		break;
	}
	atomic_fetch_add(&f->calls, 1);
}

/*
 * A SOFTMEM_MAX_LENGTH region of the thread's big pool: bytes at its far end
 * read back, and lengths past it are refused.
 */
static void fuzz_far_end(struct fuzzer *f)
{
	struct fuzz_pool *p = &f->big;
	uint64_t h, len = 1 + rnd(f, 2 * f->page), off;
	uint8_t *src = f->data, *dst = f->data + DATA_BYTES / 2;
	bool discarded;
	long ret;

	ret = softmem_alloc(p->fd, SOFTMEM_MAX_LENGTH + 1, &h);
	atomic_fetch_add(&f->calls, 1);
	if (ret != -EINVAL)
		unexpected(f, "alloc of SOFTMEM_MAX_LENGTH + 1: %s",
			   err_name(ret));
	ret = softmem_alloc(p->fd, SOFTMEM_MAX_LENGTH, &h);
	atomic_fetch_add(&f->calls, 1);
	if (ret) {
		if (ret != -ENOMEM)
			unexpected(f, "alloc of SOFTMEM_MAX_LENGTH: %s",
				   err_name(ret));
		return;
	}
	off = SOFTMEM_MAX_LENGTH - len;
	memset(src, 0xa5, len);
	src[0] = 0x11;
	ret = softmem_write(p->fd, h, off, src, len);
	if (!ret)
		ret = softmem_read(p->fd, h, off, dst, len);
	if (!ret && memcmp(src, dst, len))
		unexpected(f, "last %llu bytes of a 1 TiB region read back wrong",
			   (unsigned long long)len);
	if (ret && ret != -ENOMEM)
		unexpected(f, "write/read at the end of a 1 TiB region: %s",
			   err_name(ret));
	if (softmem_read(p->fd, h, off, dst, len + 1) != -EINVAL ||
	    softmem_set(p->fd, h, SOFTMEM_MAX_LENGTH, 1, 1) != -EINVAL)
		unexpected(f, "range past the end of a 1 TiB region accepted");
	if (softmem_suspend(p->fd, h) ||
	    softmem_resume(p->fd, h, &discarded) ||
	    softmem_free(p->fd, h))
		unexpected(f, "suspend/resume/free of a 1 TiB region failed");
	atomic_fetch_add(&f->calls, 7);
}

/*
 * The state words of the thread's own pool or the shared one, if it has
 * any: a shared mapping within them is made, any other refused with EINVAL
 * (also when the pool has none); random values go into random words of a
 * mapping made, which is then unmapped.
 */
static void fuzz_words(struct fuzzer *f)
{
	int fd = rnd(f, 2) ? f->own.fd : shared_pool.fd;
	size_t length = (1 + rnd(f, 3)) * f->page;
	off_t offset = rnd(f, 4) ? 0 : (off_t)(rnd(f, 3) * f->page);
	bool private = !rnd(f, 8);
	volatile uint64_t *words;
	unsigned int i, n;

	words = mmap(NULL, length, PROT_READ | PROT_WRITE,
		     private ? MAP_PRIVATE : MAP_SHARED, fd, offset);
	atomic_fetch_add(&f->calls, 1);
	if (words == MAP_FAILED) {
		if (errno != EINVAL)
			unexpected(f, "mmap(%#zx bytes at %#llx of a pool's words): %s",
				   length, (unsigned long long)offset,
				   strerror(errno));
		return;
	}
	if (private)
		unexpected(f, "a private mapping of a pool's words was made");
	n = rnd(f, 64);
	for (i = 0; i < n; i++)
		words[rnd(f, length / sizeof(uint64_t))] =
			rnd(f, 2) ? rnd64(f) : rnd(f, 16);
	munmap((void *)words, length);
}

/* ---- programs: sequences of operations ---- */

/*
 * A program is a short list of operations on a few pools, regions, exported
 * descriptors and mappings of its own, which it opens first and closes at
 * its end: ioctls of every command, export and import into another pool,
 * mmap(), touches, mprotect() and munmap() of a mapping, close and reopen of
 * a pool's descriptor, close of an exported one, the shrinkers, and fork()
 * (the child runs the next operations, then exits).  An operation marked
 * thread=1 runs on a second thread, alongside the rest.  Its arguments name
 * slots of those tables, or are numbers (offsets, lengths, flags, values).
 */
enum prog_code {
	OP_ALLOC, OP_FREE, OP_SUSPEND, OP_RESUME, OP_READ, OP_WRITE, OP_COPY,
	OP_MOVE, OP_SET, OP_COMPARE, OP_FIND, OP_STATS, OP_CONFIGURE,
	OP_NODE_STATS, OP_SET_PRIORITY, OP_EXPORT, OP_IMPORT, OP_BATCH,
	OP_MMAP, OP_TOUCH, OP_MPROTECT, OP_MUNMAP, OP_CLOSE_EXPORT, OP_CLOSE,
	OP_REOPEN, OP_DROP, OP_FORK, NR_OPS
};

/* What an argument is, for generating, mutating and checking it. */
enum prog_kind { K_NONE, K_POOL, K_SLOT, K_EXPORT, K_MAP, K_OFFSET,
		 K_LENGTH, K_FLAGS, K_SMALL, K_VALUE };

#define PROG_ARGS	6	/* a, b, c (slots), x, y, z (numbers) */
#define PROG_OPS	24	/* operations of a program at most */
#define PROG_POOLS	2
#define PROG_SLOTS	8	/* regions (handles) */
#define PROG_EXPORTS	4
#define PROG_MAPS	4
#define PROG_FORK_OPS	6	/* operations a forked child runs at most */
#define PROG_RANGE_MAX	(64 * KiB)	/* bytes a data operation covers */
#define CORPUS_SLOTS	64	/* programs a thread keeps for new edges */
#define PROG_ONE_IN	8	/* a fuzzing thread's turns that run a program */
#define PROG_SLOW_ONE_IN 8	/* drop_caches and fork: 1/8 as often as others */
#define REPRO_DIR	"repro"
#define REPRO_PREFIX	"# fuzz-repro: "

struct prog_op {
	uint8_t code;
	uint8_t thread;		/* 1: on the program's second thread */
	uint64_t arg[PROG_ARGS];
};

struct prog {
	unsigned int nr_ops;
	struct prog_op op[PROG_OPS];
};

static const struct prog_op_desc {
	const char *name;
	int nr;			/* the softmem command, or -1 */
	bool threadable;	/* may run on the second thread */
	struct { const char *name; enum prog_kind kind; } arg[PROG_ARGS];
} prog_ops[NR_OPS] = {
#define ARGS(...)	{ __VA_ARGS__ }
#define A(n, k)		{ n, k }
#define NO		{ NULL, K_NONE }
	[OP_ALLOC] = { "alloc", SOFTMEM_CMD_ALLOC, true,
		ARGS(A("pool", K_POOL), A("slot", K_SLOT), NO,
		     A("length", K_LENGTH), A("flags", K_FLAGS),
		     A("priority", K_SMALL)) },
	[OP_FREE] = { "free", SOFTMEM_CMD_FREE, true,
		ARGS(NO, A("slot", K_SLOT), NO, NO, A("flags", K_FLAGS), NO) },
	[OP_SUSPEND] = { "suspend", SOFTMEM_CMD_SUSPEND, true,
		ARGS(NO, A("slot", K_SLOT), NO, NO, A("flags", K_FLAGS), NO) },
	[OP_RESUME] = { "resume", SOFTMEM_CMD_RESUME, true,
		ARGS(NO, A("slot", K_SLOT), NO, NO, A("flags", K_FLAGS), NO) },
	[OP_READ] = { "read", SOFTMEM_CMD_READ, true,
		ARGS(NO, A("slot", K_SLOT), NO, A("offset", K_OFFSET),
		     A("length", K_LENGTH), NO) },
	[OP_WRITE] = { "write", SOFTMEM_CMD_WRITE, true,
		ARGS(NO, A("slot", K_SLOT), NO, A("offset", K_OFFSET),
		     A("length", K_LENGTH), NO) },
	[OP_COPY] = { "copy", SOFTMEM_CMD_COPY, true,
		ARGS(NO, A("slot", K_SLOT), A("src", K_SLOT),
		     A("offset", K_OFFSET), A("length", K_LENGTH),
		     A("src_offset", K_OFFSET)) },
	[OP_MOVE] = { "move", SOFTMEM_CMD_MOVE, true,
		ARGS(NO, A("slot", K_SLOT), A("src", K_SLOT),
		     A("offset", K_OFFSET), A("length", K_LENGTH),
		     A("src_offset", K_OFFSET)) },
	[OP_SET] = { "set", SOFTMEM_CMD_SET, true,
		ARGS(NO, A("slot", K_SLOT), NO, A("offset", K_OFFSET),
		     A("length", K_LENGTH), A("value", K_VALUE)) },
	[OP_COMPARE] = { "compare", SOFTMEM_CMD_COMPARE, true,
		ARGS(NO, A("slot", K_SLOT), A("other", K_SLOT),
		     A("offset", K_OFFSET), A("length", K_LENGTH),
		     A("flags", K_FLAGS)) },
	[OP_FIND] = { "find", SOFTMEM_CMD_FIND, true,
		ARGS(NO, A("slot", K_SLOT), NO, A("offset", K_OFFSET),
		     A("length", K_LENGTH), A("value", K_VALUE)) },
	[OP_STATS] = { "stats", SOFTMEM_CMD_STATS, true,
		ARGS(A("pool", K_POOL), NO, NO, NO, A("flags", K_FLAGS), NO) },
	[OP_CONFIGURE] = { "configure", SOFTMEM_CMD_CONFIGURE, true,
		ARGS(A("pool", K_POOL), NO, A("policy", K_SMALL),
		     A("limit", K_LENGTH), A("flags", K_FLAGS),
		     A("words", K_SMALL)) },
	[OP_NODE_STATS] = { "node_stats", SOFTMEM_CMD_NODE_STATS, true,
		ARGS(A("pool", K_POOL), NO, NO, A("node", K_SMALL),
		     A("flags", K_FLAGS), NO) },
	[OP_SET_PRIORITY] = { "set_priority", SOFTMEM_CMD_SET_PRIORITY, true,
		ARGS(NO, A("slot", K_SLOT), NO, A("priority", K_SMALL),
		     A("flags", K_FLAGS), NO) },
	[OP_EXPORT] = { "export", SOFTMEM_CMD_EXPORT, false,
		ARGS(NO, A("slot", K_SLOT), A("export", K_EXPORT), NO,
		     A("flags", K_FLAGS), NO) },
	[OP_IMPORT] = { "import", SOFTMEM_CMD_IMPORT, false,
		ARGS(A("pool", K_POOL), A("slot", K_SLOT),
		     A("export", K_EXPORT), NO, A("flags", K_FLAGS), NO) },
	[OP_BATCH] = { "batch", SOFTMEM_CMD_BATCH, true,
		ARGS(A("pool", K_POOL), A("slot", K_SLOT), NO,
		     A("count", K_SMALL), A("op", K_SMALL), NO) },
	[OP_MMAP] = { "mmap", -1, false,
		ARGS(A("map", K_MAP), NO, A("export", K_EXPORT),
		     A("offset", K_OFFSET), A("length", K_LENGTH),
		     A("prot", K_SMALL)) },
	[OP_TOUCH] = { "touch", -1, false,
		ARGS(A("map", K_MAP), NO, NO, A("offset", K_OFFSET),
		     A("length", K_LENGTH), A("write", K_SMALL)) },
	[OP_MPROTECT] = { "mprotect", -1, false,
		ARGS(A("map", K_MAP), NO, NO, NO, NO, A("prot", K_SMALL)) },
	[OP_MUNMAP] = { "munmap", -1, false,
		ARGS(A("map", K_MAP), NO, NO, A("pages", K_SMALL), NO, NO) },
	[OP_CLOSE_EXPORT] = { "close_export", -1, false,
		ARGS(NO, NO, A("export", K_EXPORT), NO, NO, NO) },
	[OP_CLOSE] = { "close", -1, false,
		ARGS(A("pool", K_POOL), NO, NO, NO, NO, NO) },
	[OP_REOPEN] = { "reopen", -1, false,
		ARGS(A("pool", K_POOL), NO, NO, NO, NO, NO) },
	[OP_DROP] = { "drop_caches", -1, true,
		ARGS(NO, NO, NO, NO, NO, NO) },
	[OP_FORK] = { "fork", -1, false,
		ARGS(NO, NO, NO, A("ops", K_SMALL), NO, NO) },
#undef ARGS
#undef A
#undef NO
};

/* A region a program allocated or imported. */
struct prog_slot {
	unsigned int pool;
	uint64_t handle;	/* 0: none */
	uint64_t length;	/* page-rounded; 0 if unknown */
};

/* A program being run: its pools, regions, descriptors and mappings. */
struct prog_run {
	const struct prog *prog;
	struct fuzz_pool pool[PROG_POOLS];
	struct prog_slot slot[PROG_SLOTS];
	struct fuzz_export exp[PROG_EXPORTS];
	struct fuzz_map map[PROG_MAPS];
	bool borrowed[PROG_POOLS];	/* the racy pool's number: not closed */
	bool child;		/* in a forked child: no fork, no KCOV */
	unsigned int fresh;	/* edges its operations reached first */
};

/* Programs run, kept and made from kept ones, over every thread. */
static atomic_ulong prog_runs, prog_kept, prog_mutated, prog_forks;

static uint64_t prog_gen_arg(struct fuzzer *f, enum prog_kind kind)
{
	switch (kind) {
	case K_POOL:
		return rnd(f, PROG_POOLS);
	/* Mostly the first few slots, so that operations meet. */
	case K_SLOT:
		return rnd(f, 4) ? rnd(f, 3) : rnd(f, 16) ? rnd(f, PROG_SLOTS) :
		       rnd(f, 1000);
	case K_EXPORT:
		return rnd(f, 4) ? rnd(f, 2) : rnd(f, 16) ? rnd(f, PROG_EXPORTS) :
		       rnd(f, 64);
	case K_MAP:
		return rnd(f, 4) ? rnd(f, 2) : rnd(f, PROG_MAPS);
	case K_OFFSET:
		return rnd(f, 4) ? rnd(f, 4) * f->page : gen_span(f, 16 * KiB);
	case K_LENGTH:
		switch (rnd(f, 8)) {
		case 0 ... 2:
			return f->page * (1 + rnd(f, 8));
		case 3 ... 5:
			return 1 + rnd(f, 16 * KiB);
		default:
			return gen_span(f, 64 * KiB);
		}
	case K_FLAGS:
		return rnd(f, 4) ? 0 : rnd(f, 2) ? 1U << rnd(f, 3) :
		       gen_flags(f, 0);
	case K_SMALL:
		return rnd(f, 8) ? rnd(f, 8) : rnd64(f);
	case K_VALUE:
		return gen_byte(f);
	default:
		return 0;
	}
}

static void prog_gen_op(struct fuzzer *f, struct prog_op *op)
{
	const struct prog_op_desc *d;
	unsigned int i;

	/* Allocations and exports often, so that the others find regions. */
	switch (rnd(f, 8)) {
	case 0:
		op->code = OP_ALLOC;
		break;
	case 1:
		op->code = rnd(f, 2) ? OP_EXPORT : OP_MMAP;
		break;
	default:
		op->code = rnd(f, NR_OPS);
		/* Slow on the debug kernel: rarely. */
		if ((op->code == OP_DROP || op->code == OP_FORK) &&
		    rnd(f, PROG_SLOW_ONE_IN))
			op->code = OP_STATS + rnd(f, OP_FORK - OP_STATS);
		break;
	}
	d = &prog_ops[op->code];
	op->thread = d->threadable && !rnd(f, 8);
	for (i = 0; i < PROG_ARGS; i++)
		op->arg[i] = prog_gen_arg(f, d->arg[i].kind);
	/* Half the mappings fit any region: shared, at 0, a page or two. */
	if (op->code == OP_MMAP && rnd(f, 2)) {
		op->arg[3] = 0;
		op->arg[4] = f->page * (1 + rnd(f, 2));
		op->arg[5] = rnd(f, 4);
	}
}

static void prog_generate(struct fuzzer *f, struct prog *p)
{
	unsigned int i;

	p->nr_ops = 2 + rnd(f, 10);
	for (i = 0; i < p->nr_ops; i++)
		prog_gen_op(f, &p->op[i]);
}

/* One to three changes: insert, delete, replace, an argument, a splice. */
static void prog_mutate(struct fuzzer *f, struct prog *p)
{
	unsigned int changes = 1 + rnd(f, 3), i, at, from, n;
	const struct prog *other;
	struct prog_op *op;

	for (i = 0; i < changes; i++) {
		at = rnd(f, p->nr_ops);
		op = &p->op[at];
		switch (rnd(f, 7)) {
		case 0:
			if (p->nr_ops == PROG_OPS)
				break;
			memmove(op + 1, op, (p->nr_ops - at) * sizeof(*op));
			p->nr_ops++;
			prog_gen_op(f, op);
			break;
		case 1:
			if (p->nr_ops == 1)
				break;
			memmove(op, op + 1, (p->nr_ops - at - 1) * sizeof(*op));
			p->nr_ops--;
			break;
		case 2:
			prog_gen_op(f, op);
			break;
		case 3 ... 4: {
			unsigned int a = rnd(f, PROG_ARGS);
			enum prog_kind kind = prog_ops[op->code].arg[a].kind;

			if (kind >= K_OFFSET && rnd(f, 2))
				op->arg[a] ^= 1ULL << rnd(f, 64);
			else
				op->arg[a] = prog_gen_arg(f, kind);
			break;
		}
		case 5:
			op->thread = prog_ops[op->code].threadable && !op->thread;
			break;
		default:
			/* This program's first ops, then another's last. */
			other = &f->corpus[rnd(f, f->nr_corpus)];
			at = 1 + rnd(f, p->nr_ops);
			from = rnd(f, other->nr_ops);
			n = other->nr_ops - from;
			if (n > PROG_OPS - at)
				n = PROG_OPS - at;
			memcpy(&p->op[at], &other->op[from], n * sizeof(*op));
			p->nr_ops = at + n;
			break;
		}
	}
}

/* The region of handle slot @s: its pool, handle and length. */
static unsigned int prog_region(struct prog_run *r, uint64_t s,
				uint64_t *handle, uint64_t *length)
{
	struct prog_slot *slot = &r->slot[s];

	*length = 0;
	if (s >= PROG_SLOTS) {
		/* A number no slot names: a guess, in either pool. */
		*handle = s;
		return s % PROG_POOLS;
	}
	*handle = __atomic_load_n(&slot->handle, __ATOMIC_RELAXED);
	if (!*handle) {
		*handle = s + 1;
		return s % PROG_POOLS;
	}
	*length = __atomic_load_n(&slot->length, __ATOMIC_RELAXED);
	return __atomic_load_n(&slot->pool, __ATOMIC_RELAXED) % PROG_POOLS;
}

static void prog_slot_set(struct prog_run *r, uint64_t s, unsigned int pool,
			  uint64_t handle, uint64_t length)
{
	if (s >= PROG_SLOTS)
		return;
	__atomic_store_n(&r->slot[s].pool, pool, __ATOMIC_RELAXED);
	__atomic_store_n(&r->slot[s].length, length, __ATOMIC_RELAXED);
	__atomic_store_n(&r->slot[s].handle, handle, __ATOMIC_RELAXED);
}

/*
 * A long range in a region, cut to PROG_RANGE_MAX: a program's data
 * operations stay short on the debug kernel; ranges past the end stay.
 */
static uint64_t prog_span(uint64_t offset, uint64_t length, uint64_t region)
{
	if (length > PROG_RANGE_MAX && offset + length >= offset &&
	    offset + length <= region)
		return PROG_RANGE_MAX;
	return length;
}

/* The exported descriptor of slot @e, or -1 (closed, or no such slot). */
static int prog_export_fd(struct prog_run *r, uint64_t e)
{
	return e < PROG_EXPORTS && r->exp[e].used ? r->exp[e].fd : -1;
}

static void prog_export_set(struct prog_run *r, uint64_t e, int fd,
			    uint64_t length)
{
	if (e >= PROG_EXPORTS) {
		close(fd);
		return;
	}
	if (r->exp[e].used)
		close(r->exp[e].fd);
	r->exp[e] = (struct fuzz_export) {
		.used = true, .fd = fd, .length = length,
	};
}

/* Every command's struct starts so; most name a region next. */
struct prog_head {
	uint32_t size;
	uint32_t flags;
	uint64_t handle;
};

/* The operations whose "slot" names the region the command works on. */
static bool prog_on_region(const struct prog_op *op)
{
	return prog_ops[op->code].arg[1].kind == K_SLOT &&
	       op->code != OP_ALLOC && op->code != OP_IMPORT &&
	       op->code != OP_BATCH;
}

/* The struct of an ioctl operation, as the kernel will see it. */
static void prog_build(struct fuzzer *f, struct prog_run *r,
		       const struct prog_op *op, struct fuzz_call *c,
		       uint8_t *entries)
{
	const struct prog_op_desc *d = &prog_ops[op->code];
	struct prog_head *head = (void *)c->s;
	const uint64_t *v = op->arg;
	uint64_t h = 0, len = 0, h2, len2, span;
	unsigned int pool = v[0] % PROG_POOLS, i;

	for (i = 0; i < PROG_ARGS; i++)
		if (d->arg[i].name && !strcmp(d->arg[i].name, "flags"))
			head->flags = v[i];
	if (prog_on_region(op)) {
		pool = prog_region(r, v[1], &h, &len);
		head->handle = h;
	}
	/* Long ranges in long regions, cut short. */
	span = prog_span(v[3], v[4], len);
	switch (op->code) {
	case OP_ALLOC: {
		struct softmem_alloc *a = (void *)c->s;

		a->length = v[3];
		a->priority = v[5];
		break;
	}
	case OP_READ:
	case OP_WRITE: {
		struct softmem_rw *a = (void *)c->s;

		a->offset = v[3];
		a->length = span;
		/* Past DATA_BYTES, the guard page: EFAULT part way. */
		a->addr = (uintptr_t)f->data;
		break;
	}
	case OP_COPY:
	case OP_MOVE: {
		struct softmem_copy *a = (void *)c->s;

		prog_region(r, v[2], &h2, &len2);
		a->src_handle = h2;
		a->dst_offset = v[3];
		a->src_offset = v[5];
		a->length = prog_span(v[5], span, len2);
		break;
	}
	case OP_SET:
	case OP_FIND: {
		/* struct softmem_find is struct softmem_set plus position. */
		struct softmem_set *a = (void *)c->s;

		a->offset = v[3];
		a->length = span;
		a->value = v[5];
		break;
	}
	case OP_COMPARE: {
		struct softmem_compare *a = (void *)c->s;

		a->offset = v[3];
		a->length = span;
		a->addr = (uintptr_t)f->data;
		if (!(a->flags & SOFTMEM_COMPARE_USER)) {
			prog_region(r, v[2], &h2, &len2);
			a->other_handle = h2;
			a->other_offset = v[3];
			a->addr = 0;
			a->length = prog_span(v[3], span, len2);
		}
		break;
	}
	case OP_CONFIGURE: {
		struct softmem_configure *a = (void *)c->s;

		a->limit_bytes = v[3];
		a->policy = v[2];
		a->nr_words = v[5];
		break;
	}
	case OP_NODE_STATS:
		((struct softmem_node_stats *)(void *)c->s)->node = v[3];
		break;
	case OP_SET_PRIORITY:
		((struct softmem_set_priority *)(void *)c->s)->priority = v[3];
		break;
	case OP_IMPORT:
		((struct softmem_import *)(void *)c->s)->fd =
			v[2] < PROG_EXPORTS ? (uint32_t)prog_export_fd(r, v[2]) :
					      (uint32_t)v[2];
		break;
	case OP_BATCH: {
		struct softmem_batch *a = (void *)c->s;
		struct softmem_batch_entry *e = (void *)entries;

		a->count = v[3];
		a->entry_size = sizeof(*e);
		/* Never past the entries: more is EFAULT (or EINVAL). */
		a->entries = (uintptr_t)(v[3] <= FUZZ_BATCH ? entries : f->none);
		for (i = 0; i < v[3] && i < FUZZ_BATCH; i++) {
			prog_region(r, v[1] + i, &h, &len);
			e[i] = (struct softmem_batch_entry) {
				.handle = h, .op = v[4],
			};
		}
		break;
	}
	}
	c->pool = &r->pool[pool];
}

/* An ioctl operation, its result checked as a single call's. */
static void prog_ioctl(struct fuzzer *f, struct prog_run *r,
		       const struct prog_op *op, uint8_t *arg)
{
	const struct prog_op_desc *d = &prog_ops[op->code];
	struct fuzz_call c = { .slot = -1, .nr = d->nr, .what = d->name };
	uint8_t *entries = arg + STRUCT_MAX;
	char why[64] = "want EBADF", buf[200];
	long ret;
	int fd;

	c.cmd = _IO(SOFTMEM_IOCTL_MAGIC, c.nr);
	prog_build(f, r, op, &c, entries);
	c.placed = struct_size[c.nr];
	((uint32_t *)c.s)[0] = c.placed;
	memcpy(arg, c.s, c.placed);
	c.arg = arg;
	c.readable = true;
	fd = __atomic_load_n(&c.pool->fd, __ATOMIC_RELAXED);

	if (!r->child)
		kcov_reset(f);
	ret = issue(fd, c.cmd, c.arg);
	if (!r->child)
		r->fresh += kcov_new_edges(f);
	atomic_fetch_add(&f->calls, 1);

	/* A closed pool: EBADF and nothing else, racy or not. */
	if (fd < 0 ? ret != -EBADF : wrong(&c, ret, why, sizeof(why))) {
		unexpected(f, "program: %s: ioctl(pool %td, %#lx, struct %s) = %ld (%s): %s",
			   d->name, c.pool - r->pool, c.cmd,
			   hex(&c, buf, sizeof(buf)), ret, err_name(ret), why);
		return;
	}
	if (ret)
		return;
	if (op->code == OP_ALLOC) {
		prog_slot_set(r, op->arg[1], c.pool - r->pool,
			      ((struct softmem_alloc *)(void *)arg)->handle,
			      op->arg[3] <= SOFTMEM_MAX_LENGTH ?
			      page_round_up(op->arg[3]) : 0);
	} else if (op->code == OP_EXPORT) {
		uint64_t h, len;
		int efd = ((struct softmem_export *)(void *)arg)->fd;
		int flags = fcntl(efd, F_GETFD);

		/* The racer's number, taken in its gap: not ours to keep. */
		if (efd == racy_pool.fd)
			return;
		prog_region(r, op->arg[1], &h, &len);
		if (flags < 0 || !(flags & FD_CLOEXEC) ==
		    !(op->arg[4] & SOFTMEM_EXPORT_NO_CLOEXEC)) {
			unexpected(f, "program: EXPORT with flags %#llx gave fd %d: %s",
				   (unsigned long long)op->arg[4], efd,
				   flags < 0 ? strerror(errno) :
				   "wrong close-on-exec");
			if (flags < 0)
				return;
		}
		prog_export_set(r, op->arg[2], efd, len);
	} else if (op->code == OP_IMPORT) {
		const struct softmem_import *got = (void *)arg;

		prog_slot_set(r, op->arg[1], c.pool - r->pool, got->handle,
			      got->length);
		if (op->arg[2] < PROG_EXPORTS && r->exp[op->arg[2]].used)
			r->exp[op->arg[2]].length = got->length;
	}
}

/* mmap() of an exported descriptor: checked as map_new() checks. */
static void prog_mmap(struct fuzzer *f, struct prog_run *r,
		      const struct prog_op *op)
{
	uint64_t e = op->arg[2], offset = op->arg[3], length = op->arg[4];
	int fd = prog_export_fd(r, e), prot = map_prots[op->arg[5] & 3];
	bool private = op->arg[5] & 4;
	uint64_t region = fd >= 0 ? r->exp[e].length : 0;
	struct fuzz_map *m = &r->map[op->arg[0] % PROG_MAPS];
	void *addr;
	int err = 0;

	addr = mmap(NULL, length, prot, private ? MAP_PRIVATE : MAP_SHARED,
		    fd, (off_t)offset);
	if (addr == MAP_FAILED)
		err = errno;
	atomic_fetch_add(&f->calls, 1);
	atomic_fetch_add(&map_count[err ? MAP_REFUSED : MAP_MADE], 1);
	if (fd < 0 && err != EBADF && err != EINVAL)
		unexpected(f, "program: mmap of a closed descriptor: %s",
			   err ? strerror(err) : "mapped");
	else if (fd >= 0)
		map_check(f, region, offset, length, private, err);
	if (err)
		return;
	if (m->used)
		munmap(m->addr, m->length);
	*m = (struct fuzz_map) {
		.used = true, .addr = addr, .length = page_round_up(length),
		.prot = prot,
	};
}

/* A touch of a mapping, checked by map_touch_at(). */
static void prog_touch(struct fuzzer *f, struct prog_run *r,
		       const struct prog_op *op)
{
	struct fuzz_map *m = &r->map[op->arg[0] % PROG_MAPS];

	if (!m->used)
		return;
	atomic_fetch_add(&f->calls, 1);
	map_touch_at(f, m, m->addr + op->arg[3] % m->length,
		     1 + op->arg[4] % TOUCH_MAX, op->arg[5] & 1);
}

static void prog_map_change(struct fuzzer *f, struct prog_run *r,
			    const struct prog_op *op)
{
	struct fuzz_map *m = &r->map[op->arg[0] % PROG_MAPS];
	size_t pages, cut;
	int prot;

	if (!m->used)
		return;
	atomic_fetch_add(&f->calls, 1);
	if (op->code == OP_MPROTECT && op->arg[5] & 4) {
		if (madvise(m->addr, m->length, MADV_DONTNEED))
			unexpected(f, "program: madvise(MADV_DONTNEED): %s",
				   strerror(errno));
		atomic_fetch_add(&map_count[MAP_ADVISED], 1);
	} else if (op->code == OP_MPROTECT) {
		prot = map_prots[op->arg[5] & 3];
		if (mprotect(m->addr, m->length, prot))
			unexpected(f, "program: mprotect(%#x): %s", prot,
				   strerror(errno));
		else
			m->prot = prot;
		atomic_fetch_add(&map_count[MAP_PROTECTED], 1);
	} else {
		pages = m->length / f->page;
		cut = op->arg[3] && op->arg[3] < pages ? op->arg[3] : pages;
		if (munmap(m->addr, cut * f->page))
			unexpected(f, "program: munmap of %zu of %zu pages: %s",
				   cut, pages, strerror(errno));
		atomic_fetch_add(&map_count[MAP_UNMAPPED], 1);
		m->addr += cut * f->page;
		m->length -= cut * f->page;
		m->used = m->length;
	}
}

/* close() of a pool's descriptor, or a new pool under the same number. */
static void prog_pool_fd(struct fuzzer *f, struct prog_run *r,
			 const struct prog_op *op)
{
	unsigned int i = op->arg[0] % PROG_POOLS;
	struct fuzz_pool *p = &r->pool[i];
	int fd = p->fd, nfd;

	atomic_fetch_add(&f->calls, 1);
	/* The racer's number is not ours to close: forget it. */
	if (r->borrowed[i]) {
		r->borrowed[i] = false;
		__atomic_store_n(&p->fd, -1, __ATOMIC_RELAXED);
		fd = -1;
	}
	if (op->code == OP_CLOSE) {
		if (fd < 0)
			return;
		__atomic_store_n(&p->fd, -1, __ATOMIC_RELAXED);
		if (close(fd))
			unexpected(f, "program: close of a pool: %s",
				   strerror(errno));
		return;
	}
	nfd = open(SOFTMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (nfd < 0) {
		if (errno != ENOMEM)
			unexpected(f, "program: open of %s: %s",
				   SOFTMEM_DEVICE_PATH, strerror(errno));
		return;
	}
	/* The racer's number, taken in its gap: its dup2() closes it. */
	if (nfd == racy_pool.fd)
		return;
	/* The same number, atomically: nothing else can take it meanwhile. */
	if (fd >= 0) {
		if (dup2(nfd, fd) < 0)
			unexpected(f, "program: dup2 over a pool: %s",
				   strerror(errno));
		close(nfd);
		return;
	}
	__atomic_store_n(&p->fd, nfd, __ATOMIC_RELAXED);
}

/* One operation; a fork is run by prog_exec(). */
static void prog_op_run(struct fuzzer *f, struct prog_run *r,
			const struct prog_op *op, uint8_t *arg)
{
	int fd;

	if (prog_ops[op->code].nr >= 0) {
		prog_ioctl(f, r, op, arg);
		return;
	}
	if (!r->child)
		kcov_reset(f);
	switch (op->code) {
	case OP_MMAP:
		prog_mmap(f, r, op);
		break;
	case OP_TOUCH:
		prog_touch(f, r, op);
		break;
	case OP_MPROTECT:
	case OP_MUNMAP:
		prog_map_change(f, r, op);
		break;
	case OP_CLOSE_EXPORT:
		fd = prog_export_fd(r, op->arg[2]);
		if (fd >= 0) {
			close(fd);
			r->exp[op->arg[2]].used = false;
		}
		break;
	case OP_CLOSE:
	case OP_REOPEN:
		prog_pool_fd(f, r, op);
		break;
	case OP_DROP:
		drop_caches();
		atomic_fetch_add(&f->calls, 1);
		break;
	}
	if (!r->child)
		r->fresh += kcov_new_edges(f);
}

/*
 * fork(): the child runs the next @n operations on its copies of the
 * program's descriptors and mappings, then exits (nonzero if a check
 * failed).  Its calls are neither traced nor counted: KCOV follows the
 * parent only.
 */
static void prog_fork(struct fuzzer *f, struct prog_run *r,
		      const struct prog_op *ops, unsigned int n)
{
	unsigned int i;
	int status;
	pid_t pid;

	atomic_fetch_add(&prog_forks, 1);
	atomic_fetch_add(&f->calls, 1);
	pid = fork();
	if (pid < 0) {
		if (errno != EAGAIN && errno != ENOMEM)
			unexpected(f, "program: fork: %s", strerror(errno));
		return;
	}
	if (!pid) {
		r->child = true;
		f->cover = NULL;
		f->unexpected = 0;
		for (i = 0; i < n; i++)
			if (ops[i].code != OP_FORK)
				prog_op_run(f, r, &ops[i], f->edge);
		_exit(f->unexpected ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		unexpected(f, "program: forked child %s %d",
			   WIFSIGNALED(status) ? "killed by signal" :
			   "exited with", WIFSIGNALED(status) ?
			   WTERMSIG(status) : WEXITSTATUS(status));
}

/* The second thread: its own copy of the fuzzer, structs and no KCOV. */
struct prog_helper {
	struct fuzzer f;
	struct prog_run *r;
	pthread_t thread;
};

static void *prog_helper_thread(void *arg)
{
	struct prog_helper *h = arg;
	const struct prog *p = h->r->prog;
	unsigned int i;

	for (i = 0; i < p->nr_ops; i++)
		if (p->op[i].thread && prog_ops[p->op[i].code].threadable)
			prog_op_run(&h->f, h->r, &p->op[i],
				    h->f.edge + h->f.page / 2);
	return NULL;
}

static bool prog_threaded(const struct prog *p)
{
	unsigned int i;

	for (i = 0; i < p->nr_ops; i++)
		if (p->op[i].thread && prog_ops[p->op[i].code].threadable)
			return true;
	return false;
}

/*
 * Runs @p on new pools, then closes everything it opened; returns the
 * edges it reached first.  Its failed checks count in @f->unexpected.
 */
static unsigned int prog_exec(struct fuzzer *f, const struct prog *p)
{
	struct prog_run *r = calloc(1, sizeof(*r));
	struct prog_helper *h = NULL;
	bool threaded = prog_threaded(p);
	unsigned int i, fresh;

	if (!r) {
		unexpected(f, "program: out of memory");
		return 0;
	}
	r->prog = p;
	for (i = 0; i < PROG_POOLS; i++) {
		int fd = open(SOFTMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);

		if (fd < 0 && errno != ENOMEM)
			unexpected(f, "program: open of %s: %s",
				   SOFTMEM_DEVICE_PATH, strerror(errno));
		/*
		 * The racer's number, taken while it had it closed: its
		 * dup2() will put the racy pool there.  Racy, and not ours
		 * to close.
		 */
		if (fd >= 0 && fd == racy_pool.fd) {
			r->pool[i].racy = true;
			r->borrowed[i] = true;
		}
		r->pool[i].fd = fd;
		/* The second thread's pool may be closed under it. */
		r->pool[i].racy |= threaded;
		atomic_fetch_add(&f->calls, 1);
	}
	if (threaded) {
		h = malloc(sizeof(*h));
		if (h) {
			memcpy(&h->f, f, sizeof(*f));
			h->f.cover = NULL;
			h->f.unexpected = 0;
			atomic_store(&h->f.calls, 0);
			h->r = r;
			if (pthread_create(&h->thread, NULL,
					   prog_helper_thread, h)) {
				free(h);
				h = NULL;
			}
		}
	}
	for (i = 0; i < p->nr_ops; i++) {
		const struct prog_op *op = &p->op[i];

		if (op->thread && prog_ops[op->code].threadable)
			continue;
		if (op->code == OP_FORK) {
			unsigned int n = op->arg[3] % (PROG_FORK_OPS + 1);

			if (n > p->nr_ops - i - 1)
				n = p->nr_ops - i - 1;
			prog_fork(f, r, op + 1, n);
			i += n;
			continue;
		}
		prog_op_run(f, r, op, f->edge);
	}
	if (h) {
		pthread_join(h->thread, NULL);
		f->unexpected += h->f.unexpected;
		atomic_fetch_add(&f->calls, atomic_load(&h->f.calls));
		free(h);
	}
	for (i = 0; i < PROG_MAPS; i++)
		if (r->map[i].used)
			munmap(r->map[i].addr, r->map[i].length);
	for (i = 0; i < PROG_EXPORTS; i++)
		if (r->exp[i].used)
			close(r->exp[i].fd);
	for (i = 0; i < PROG_POOLS; i++)
		if (r->pool[i].fd >= 0 && !r->borrowed[i])
			close(r->pool[i].fd);
	fresh = r->fresh;
	free(r);
	atomic_fetch_add(&prog_runs, 1);
	return fresh;
}

/* ---- reproducers: programs as text, one operation a line ---- */

/* Says @p, run with @seed, a line each, after @prefix. */
static void prog_print(const struct prog *p, uint64_t seed, const char *prefix)
{
	unsigned int i, a;

	say("%sseed %#llx", prefix, (unsigned long long)seed);
	for (i = 0; i < p->nr_ops; i++) {
		const struct prog_op *op = &p->op[i];
		const struct prog_op_desc *d = &prog_ops[op->code];
		char line[400];
		int at;

		at = snprintf(line, sizeof(line), "%s", d->name);
		for (a = 0; a < PROG_ARGS; a++)
			if (d->arg[a].name)
				at += snprintf(line + at, sizeof(line) - at,
					       op->arg[a] < 10 ? " %s=%llu" :
					       " %s=%#llx", d->arg[a].name,
					       (unsigned long long)op->arg[a]);
		if (op->thread)
			snprintf(line + at, sizeof(line) - at, " thread=1");
		say("%s%s", prefix, line);
	}
}

/* One line of a reproducer into @op; false with @why if it is malformed. */
static bool prog_parse_op(char *line, struct prog_op *op, char *why,
			  size_t size)
{
	char *save = NULL, *word = strtok_r(line, " \t", &save);
	const struct prog_op_desc *d = NULL;
	unsigned int i;

	memset(op, 0, sizeof(*op));
	for (i = 0; i < NR_OPS; i++)
		if (!strcmp(word, prog_ops[i].name))
			d = &prog_ops[i];
	if (!d) {
		snprintf(why, size, "unknown operation '%s'", word);
		return false;
	}
	op->code = d - prog_ops;
	while ((word = strtok_r(NULL, " \t", &save))) {
		char *eq = strchr(word, '='), *end;
		unsigned long long v;

		if (!eq || eq == word || !eq[1]) {
			snprintf(why, size, "'%s' is not name=value", word);
			return false;
		}
		*eq = '\0';
		errno = 0;
		v = strtoull(eq + 1, &end, 0);
		if (errno || *end) {
			snprintf(why, size, "bad number '%s'", eq + 1);
			return false;
		}
		if (!strcmp(word, "thread")) {
			if (v > 1 || (v && !d->threadable)) {
				snprintf(why, size, "%s cannot run on thread %llu",
					 d->name, v);
				return false;
			}
			op->thread = v;
			continue;
		}
		for (i = 0; i < PROG_ARGS; i++)
			if (d->arg[i].name && !strcmp(word, d->arg[i].name))
				break;
		if (i == PROG_ARGS) {
			snprintf(why, size, "%s has no argument '%s'", d->name,
				 word);
			return false;
		}
		op->arg[i] = v;
	}
	return true;
}

/*
 * Reads reproducer @path into @p: "seed N" first, then an operation a line
 * ("alloc pool=0 slot=1 length=0x2000"), '#' comments and blank lines
 * aside.  False with the line and what is wrong in @why.
 */
static bool prog_load(const char *path, struct prog *p, uint64_t *seed,
		      char *why, size_t size)
{
	char line[512], msg[200];
	unsigned int n = 0;
	bool seeded = false;
	FILE *file = fopen(path, "re");

	memset(p, 0, sizeof(*p));
	if (!file) {
		snprintf(why, size, "%s", strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), file)) {
		char *s = line + strspn(line, " \t");

		n++;
		s[strcspn(s, "\r\n")] = '\0';
		if (!*s || *s == '#')
			continue;
		if (!seeded) {
			char *end = s;

			errno = 0;
			if (!strncmp(s, "seed ", 5))
				*seed = strtoull(s + 5, &end, 0);
			if (end == s || errno || *end) {
				snprintf(why, size, "line %u: want 'seed N' first",
					 n);
				goto bad;
			}
			seeded = true;
			continue;
		}
		if (p->nr_ops == PROG_OPS) {
			snprintf(why, size, "line %u: more than %u operations",
				 n, PROG_OPS);
			goto bad;
		}
		if (!prog_parse_op(s, &p->op[p->nr_ops++], msg, sizeof(msg))) {
			snprintf(why, size, "line %u: %s", n, msg);
			goto bad;
		}
	}
	if (!p->nr_ops) {
		snprintf(why, size, "no operations");
		goto bad;
	}
	fclose(file);
	return true;
bad:
	fclose(file);
	return false;
}

/* ---- splats, as the run goes ---- */

static int kmsg_fd = -1;	/* /dev/kmsg, from the run's start */
static pthread_mutex_t kmsg_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint splat_total;

/*
 * Kernel log lines since the last look that show a splat, printed and
 * counted in splat_total.  One thread looks at a time; the others go on.
 */
static void poll_splats(bool wait)
{
	static const char *const splat[] = {
		"BUG:", "WARNING:", "KASAN", "UBSAN", "Oops", "lockdep",
	};
	unsigned int i;
	char rec[2048];
	ssize_t len;

	if (kmsg_fd < 0)
		return;
	if (wait)
		pthread_mutex_lock(&kmsg_lock);
	else if (pthread_mutex_trylock(&kmsg_lock))
		return;
	for (;;) {
		len = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (len <= 0)
			break;
		rec[len] = '\0';
		for (i = 0; i < ARRAY_SIZE(splat); i++) {
			if (strstr(rec, splat[i])) {
				char *text = strchr(rec, ';');

				if (atomic_fetch_add(&splat_total, 1) <
				    FUZZ_REPORTS)
					say("# fuzz: kernel: %.200s",
					    text ? text + 1 : rec);
				break;
			}
		}
	}
	pthread_mutex_unlock(&kmsg_lock);
}

/* ---- the corpus ---- */

static uint64_t fuzz_seed;

/*
 * One program, new or made from a kept one; kept if it reached new edges,
 * printed as a reproducer if a check failed or the kernel splatted while
 * it ran.
 */
static void fuzz_program(struct fuzzer *f)
{
	struct prog *p = f->prog;
	uint64_t unexpected_before = f->unexpected;
	unsigned int splats = atomic_load(&splat_total), fresh;

	if (f->nr_corpus && rnd(f, 4)) {
		*p = f->corpus[rnd(f, f->nr_corpus)];
		prog_mutate(f, p);
		atomic_fetch_add(&prog_mutated, 1);
	} else {
		prog_generate(f, p);
	}
	fresh = prog_exec(f, p);
	if (fresh && !fuzz_blind && f->corpus) {
		f->corpus[f->nr_corpus < CORPUS_SLOTS ? f->nr_corpus++ :
			  rnd(f, CORPUS_SLOTS)] = *p;
		atomic_fetch_add(&prog_kept, 1);
	}
	poll_splats(false);
	if (f->unexpected == unexpected_before &&
	    atomic_load(&splat_total) == splats)
		return;
	say("# fuzz: thread %u: program %llu %s; reproducer (between the markers; save it as selftests/%s/NAME.repro):",
	    f->id, (unsigned long long)atomic_load(&prog_runs),
	    f->unexpected != unexpected_before ? "failed a check" :
	    "ran while the kernel splatted", REPRO_DIR);
	say("%sbegin", REPRO_PREFIX);
	prog_print(p, fuzz_seed, REPRO_PREFIX);
	say("%send", REPRO_PREFIX);
}

static struct fuzz_pool *pick_pool(struct fuzzer *f)
{
	switch (rnd(f, 10)) {
	case 0 ... 3:
		return &racy_pool;
	case 4 ... 6:
		return &shared_pool;
	default:
		return &f->own;
	}
}

static void fuzz_one(struct fuzzer *f)
{
	struct fuzz_call c;
	unsigned int kind = rnd(f, 100);

	memset(&c, 0, sizeof(c));
	c.slot = -1;
	c.pool = pick_pool(f);
	c.nr = rnd(f, NR_CMDS);
	/* Allocations often, so that other calls find regions. */
	if (!rnd(f, 6))
		c.nr = SOFTMEM_CMD_ALLOC;
	c.cmd = _IO(SOFTMEM_IOCTL_MAGIC, c.nr);

	if (f->nr_kept && !rnd(f, 3)) {
		fuzz_kept(f, &c);
		run(f, &c);
		return;
	}
	/* Not kept, but their edges count (mmap(), faults, words). */
	if (kind >= 95) {
		kcov_reset(f);
		if (kind >= 99)
			fuzz_far_end(f);
		else if (kind >= 96)
			fuzz_mapping(f);
		else
			fuzz_words(f);
		kcov_new_edges(f);
		return;
	}
	if (kind < 8)
		fuzz_bad_command(f, &c);
	else if (kind < 52)
		fuzz_fields(f, &c);
	else if (kind < 75)
		fuzz_mutation(f, &c);
	else if (kind < 85)
		fuzz_bad_struct(f, &c);
	else if (kind < 93)
		fuzz_size(f, &c);
	else
		fuzz_import_fd(f, &c);
	run(f, &c);
}

static void *fuzz_thread(void *arg)
{
	struct fuzzer *f = arg;

	f->kcov_failed = !kcov_enable(f);
	if (f->kcov > 0)
		f->corpus = calloc(CORPUS_SLOTS, sizeof(*f->corpus));
	while (f->deadline ? now_seconds() < f->deadline :
	       atomic_load(&f->calls) < f->quota) {
		if (rnd(f, PROG_ONE_IN))
			fuzz_one(f);
		else
			fuzz_program(f);
	}
	return NULL;
}

/*
 * Under the fuzzers' feet: reopen the racy pool (sometimes leaving its fd
 * closed for a moment), free, suspend and export (and close again) known
 * regions, run the shrinkers.
 */
static void *racer_thread(void *arg)
{
	struct fuzzer *f = arg;

	while (!atomic_load(&fuzz_done)) {
		struct fuzz_pool *p = rnd(f, 2) ? &racy_pool : &shared_pool;
		unsigned int action = rnd(f, 11);
		uint64_t h, length;
		long ret = 0;
		int fd;

		if (action < 1) {
			fd = open(SOFTMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
			if (fd < 0)
				continue;
			if (rnd(f, 2)) {
				close(racy_pool.fd);
				usleep(rnd(f, 200));
			}
			dup2(fd, racy_pool.fd);
			close(fd);
			pool_clear(&racy_pool);
		} else if (action < 4) {
			h = pool_pick(f, p, &length);
			ret = softmem_free(p->fd, h);
			atomic_fetch_add(&f->calls, 1);
		} else if (action < 8) {
			h = pool_pick(f, p, &length);
			ret = softmem_suspend(p->fd, h);
			atomic_fetch_add(&f->calls, 1);
		} else if (action < 10) {
			drop_caches();
		} else {
			h = pool_pick(f, p, &length);
			fd = softmem_export(p->fd, h, 0);
			atomic_fetch_add(&f->calls, 1);
			if (fd >= 0)
				close(fd);
			else
				ret = fd;
		}
		/* As in wrong(): the racy pool's number may name an export. */
		if (ret && ret != -ENOENT &&
		    !(p->racy && (ret == -EBADF || ret == -ENOTTY)))
			unexpected(f, "racer: free/suspend/export: %s",
				   err_name(ret));
		usleep(rnd(f, 4000));
	}
	return NULL;
}

static bool fuzzer_init(struct fuzzer *f, unsigned int id, uint64_t seed,
			uint64_t quota)
{
	size_t page = page_size();
	uint64_t min_addr;
	uint8_t *map;

	memset(f, 0, sizeof(*f));
	f->id = id;
	f->kcov = -1;
	f->rng = seed ^ (0x9e3779b97f4a7c15ULL * (id + 1));
	f->quota = quota;
	f->page = page;
	/* data | guard | edge | guard | ro | none */
	map = mmap(NULL, DATA_BYTES + 5 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return false;
	f->data = map;
	f->edge = map + DATA_BYTES + page;
	f->ro = f->edge + 2 * page;
	f->none = f->ro + page;
	/*
	 * Not a page of the fuzzer's own unmapped: mmap() fills such a gap
	 * with a mapping of the next page-sized request, and a write from
	 * there (a READ into the "hole", now writable) went on into the
	 * harness's shared results above it.  The page below mmap_min_addr
	 * is never given out; without one, the PROT_NONE page stands in.
	 */
	f->hole = f->none;
	if (read_u64_file("/proc/sys/vm/mmap_min_addr", &min_addr) == 0 &&
	    min_addr >= 2 * page)
		f->hole = (uint8_t *)(uintptr_t)(min_addr - page);
	if (mprotect(f->data + DATA_BYTES, page, PROT_NONE) ||
	    mprotect(f->edge + page, page, PROT_NONE) ||
	    mprotect(f->ro, page, PROT_READ) ||
	    mprotect(f->none, page, PROT_NONE))
		return false;
	f->prog = calloc(1, sizeof(*f->prog));
	if (!f->prog)
		return false;
	f->own.fd = softmem_open();
	f->big.fd = softmem_open();
	if (f->own.fd < 0 || f->big.fd < 0)
		return false;
	/* The thread's own pool has state words for fuzz_words(). */
	return softmem_raw_ioctl(f->own.fd, SOFTMEM_IOC_CONFIGURE,
				 &(struct softmem_configure) {
					.size = sizeof(struct softmem_configure),
					.flags = SOFTMEM_CONFIGURE_WORDS,
					.nr_words = FUZZ_WORDS,
				 }) == 0;
}

static void fuzzer_exit(struct fuzzer *f)
{
	kcov_disable(f);
	fuzzer_unmap_all(f);
	free(f->prog);
	free(f->corpus);
	f->prog = NULL;
	f->corpus = NULL;
	if (f->own.fd > 0)
		softmem_close(f->own.fd);
	if (f->big.fd > 0)
		softmem_close(f->big.fd);
	if (f->data)
		munmap(f->data, DATA_BYTES + 5 * f->page);
}

/* The module caps, lowered for the run so that no call can eat the VM. */
struct fuzz_caps {
	uint64_t max_bytes, pool_max_bytes;
	bool saved;
};

static void caps_lower(struct fuzz_caps *caps)
{
	caps->saved = !module_param("max_bytes", &caps->max_bytes) &&
		      !module_param("pool_max_bytes", &caps->pool_max_bytes) &&
		      !write_u64_file(SOFTMEM_SYSFS_PARAMS "/pool_max_bytes",
				      FUZZ_CAP) &&
		      !write_u64_file(SOFTMEM_SYSFS_PARAMS "/max_bytes",
				      FUZZ_CAP);
	if (!caps->saved)
		say("# fuzz: cannot lower the module caps; allocations stay within the defaults");
}

static void caps_restore(struct fuzz_caps *caps)
{
	if (!caps->saved)
		return;
	write_u64_file(SOFTMEM_SYSFS_PARAMS "/max_bytes", caps->max_bytes);
	write_u64_file(SOFTMEM_SYSFS_PARAMS "/pool_max_bytes",
		       caps->pool_max_bytes);
}

FIXTURE(fuzz) {
	struct fuzzer f[FUZZ_THREADS + 1];	/* the last one is the racer */
	struct fuzz_caps caps;
};

FIXTURE_SETUP(fuzz)
{
	unsigned int i;

	kmsg_fd = -1;
	SKIP_IF_NO_DEVICE();
	caps_lower(&self->caps);
	racy_pool.fd = softmem_open();
	racy_pool.racy = true;
	shared_pool.fd = softmem_open();
	ASSERT_LE(0, racy_pool.fd);
	ASSERT_LE(0, shared_pool.fd);
	for (i = 0; i <= FUZZ_THREADS; i++)
		self->f[i].data = NULL;
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, null_fd);
	ASSERT_EQ(0, map_fault_catch());
	/* Now, so that the racer's reopen is the only open of the run. */
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
	else
		say("# fuzz: no /dev/kmsg (%s): splats left to the console check",
		    strerror(errno));
	/* 4: drop_caches tells the console once, not at every call. */
	write_file("/proc/sys/vm/drop_caches", "4");
}

FIXTURE_TEARDOWN(fuzz)
{
	unsigned int i;

	for (i = 0; i <= FUZZ_THREADS; i++)
		fuzzer_exit(&self->f[i]);
	if (racy_pool.fd > 0)
		softmem_close(racy_pool.fd);
	if (shared_pool.fd > 0)
		softmem_close(shared_pool.fd);
	if (kmsg_fd >= 0)
		close(kmsg_fd);
	kmsg_fd = -1;
	if (null_fd >= 0)
		close(null_fd);
	caps_restore(&self->caps);
}

/* The module holds nothing: every pool, descriptor and mapping is gone. */
static bool module_empty(struct __test_metadata *_metadata)
{
	static const char *const stats[] = {
		"regions", "length_bytes", "resident_bytes", "suspended_bytes",
	};
	bool empty = true;
	unsigned int i;
	uint64_t v = 0;

	for (i = 0; i < ARRAY_SIZE(stats); i++) {
		if (module_stat_reach(stats[i], 0, &v))
			continue;
		TH_LOG("module %s %llu after the run", stats[i],
		       (unsigned long long)v);
		empty = false;
	}
	return empty;
}

TEST_F_TIMEOUT(fuzz, random_ioctls, 1200)
{
	uint64_t seed = env_u64("SOFTMEM_FUZZ_SEED", FUZZ_SEED);
	bool debug = debug_kernel();
	uint64_t total = env_u64("SOFTMEM_FUZZ_CALLS", debug ?
				 FUZZ_CALLS_DEBUG : FUZZ_CALLS_STOCK);
	uint64_t quota = (total + FUZZ_THREADS - 1) / FUZZ_THREADS;
	uint64_t seconds = env_u64("SOFTMEM_FUZZ_TIME", 0);
	pthread_t thread[FUZZ_THREADS + 1];
	uint64_t calls = 0, unexpected_calls = 0, kept = 0, replays = 0;
	bool kcov = access(KCOV_PATH, F_OK) == 0, kcov_failed = false;
	double start = now_seconds();
	unsigned int i, splats = 0, corpus = 0;

	fuzz_blind = env_u64("SOFTMEM_FUZZ_BLIND", 0);
	fuzz_seed = seed;
	if (seconds)
		say("# fuzz: seed %#llx (SOFTMEM_FUZZ_SEED), for %llu s (SOFTMEM_FUZZ_TIME) on a %s kernel",
		    (unsigned long long)seed, (unsigned long long)seconds,
		    debug ? "debug" : "stock");
	else
		say("# fuzz: seed %#llx (SOFTMEM_FUZZ_SEED), %llu calls (SOFTMEM_FUZZ_CALLS) on a %s kernel",
		    (unsigned long long)seed, (unsigned long long)total,
		    debug ? "debug" : "stock");
	for (i = 0; i <= FUZZ_THREADS; i++) {
		ASSERT_TRUE(fuzzer_init(&self->f[i], i, seed, quota));
		self->f[i].deadline = seconds ? start + seconds : 0;
	}
	for (i = 0; i <= FUZZ_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&thread[i], NULL,
					    i < FUZZ_THREADS ? fuzz_thread :
					    racer_thread, &self->f[i]));
	for (i = 0; i < FUZZ_THREADS; i++)
		pthread_join(thread[i], NULL);
	atomic_store(&fuzz_done, 1);
	pthread_join(thread[FUZZ_THREADS], NULL);

	for (i = 0; i <= FUZZ_THREADS; i++) {
		calls += atomic_load(&self->f[i].calls);
		unexpected_calls += self->f[i].unexpected;
		kept += self->f[i].kept_total;
		replays += self->f[i].replays;
		kcov_failed |= self->f[i].kcov_failed;
		corpus += self->f[i].nr_corpus;
		fuzzer_exit(&self->f[i]);
		memset(&self->f[i], 0, sizeof(self->f[i]));
	}
	softmem_close(racy_pool.fd);
	softmem_close(shared_pool.fd);
	racy_pool.fd = -1;
	shared_pool.fd = -1;

	EXPECT_TRUE(module_empty(_metadata));
	poll_splats(true);
	splats = atomic_load(&splat_total);

	print_results();
	print_mappings();
	say("# fuzz: summary: %llu unexpected results, %.1f s",
	    (unsigned long long)unexpected_calls, now_seconds() - start);
	/* KCOV on the kernel, but a module built without it: blind. */
	if (kcov && !atomic_load(&edge_total)) {
		say("# fuzz: KCOV saw none of softmem's code: module built without SOFTMEM_COVERAGE=1, the run was blind");
		kcov = false;
	}
	if (kcov) {
		if (fuzz_blind)
			say("# fuzz: KCOV: blind (SOFTMEM_FUZZ_BLIND), edges counted only");
		else
			say("# fuzz: KCOV: %llu calls kept for new edges, %llu made from them",
			    (unsigned long long)kept,
			    (unsigned long long)replays);
		if (!fuzz_blind)
			say("# fuzz: corpus %u programs (%lu kept in all), %lu programs run, %lu made from kept ones, %lu forks",
			    corpus, atomic_load(&prog_kept),
			    atomic_load(&prog_runs),
			    atomic_load(&prog_mutated),
			    atomic_load(&prog_forks));
		say("# fuzz: %llu calls, %lu edges, %u splats",
		    (unsigned long long)calls, atomic_load(&edge_total), splats);
	} else {
		say("# fuzz: %lu programs run, %lu forks",
		    atomic_load(&prog_runs), atomic_load(&prog_forks));
		say("# fuzz: %llu calls, %u splats",
		    (unsigned long long)calls, splats);
	}
	EXPECT_EQ(0, unexpected_calls);
	EXPECT_EQ(0, splats);
	if (!seconds)
		EXPECT_LE(total, calls);
	/* KCOV is there: every thread could trace its calls. */
	EXPECT_FALSE(kcov_failed);
}

/* Reproducers: files named *.repro. */
static int repro_file(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return len > 6 && !strcmp(d->d_name + len - 6, ".repro");
}

/* SOFTMEM_FUZZ_REPRO, or repro/ beside the binary (as installed). */
static void repro_dir(char *dir, size_t size)
{
	const char *env = getenv("SOFTMEM_FUZZ_REPRO");
	ssize_t len;
	char *slash;

	if (env && *env) {
		snprintf(dir, size, "%s", env);
		return;
	}
	len = readlink("/proc/self/exe", dir, size - sizeof(REPRO_DIR) - 1);
	if (len < 0)
		len = 0;
	dir[len] = '\0';
	slash = strrchr(dir, '/');
	snprintf(slash ? slash + 1 : dir, size - (slash ? slash + 1 - dir : 0),
		 "%s", REPRO_DIR);
}

/*
 * Every reproducer in selftests/repro/, replayed before the fuzzing: its
 * operations must pass the fuzzer's checks without a splat, and leave the
 * module holding nothing.  A file that does not parse fails, naming its line.
 */
TEST_F_TIMEOUT(fuzz, reproducers, 600)
{
	struct fuzzer *f = &self->f[0];
	unsigned int replayed = 0, failed = 0;
	char dir[PATH_MAX], path[PATH_MAX + 256], why[256];
	struct dirent **names;
	struct prog *p;
	uint64_t seed = 0;
	int n, i;

	repro_dir(dir, sizeof(dir) - 1);
	n = scandir(dir, &names, repro_file, alphasort);
	ASSERT_LE(0, n)
		TH_LOG("reproducers in %s: %s", dir, strerror(errno));
	ASSERT_TRUE(fuzzer_init(f, 0, FUZZ_SEED, 0));
	p = f->prog;
	for (i = 0; i < n; i++) {
		uint64_t before = f->unexpected;
		unsigned int splats = atomic_load(&splat_total);
		bool bad;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		free(names[i]);
		if (!prog_load(path, p, &seed, why, sizeof(why))) {
			say("# fuzz: reproducer %s: malformed: %s", path, why);
			failed++;
			continue;
		}
		prog_exec(f, p);
		poll_splats(true);
		bad = f->unexpected != before ||
		      atomic_load(&splat_total) != splats;
		say("# fuzz: reproducer %s: %u operations, seed %#llx: %s",
		    path, p->nr_ops, (unsigned long long)seed,
		    bad ? "FAILED" : "ok");
		failed += bad;
		replayed++;
	}
	free(names);
	fuzzer_exit(f);
	memset(f, 0, sizeof(*f));
	say("# fuzz: reproducers: %u replayed, %u failed, from %s", replayed,
	    failed, dir);
	EXPECT_TRUE(module_empty(_metadata));
	EXPECT_EQ(0, failed);
	EXPECT_LT(0, n)
		TH_LOG("no *.repro file in %s", dir);
}

/*
 * The harness's main, but a run by time (SOFTMEM_FUZZ_TIME) gets that much
 * more time before the harness takes it for hung.
 */
int main(int argc, char **argv)
{
	uint64_t seconds = env_u64("SOFTMEM_FUZZ_TIME", 0);
	struct __test_metadata *t;

	for (t = _fuzz_fixture_object.tests; seconds && t; t = t->next)
		if (!strcmp(t->name, "random_ioctls"))
			t->timeout += seconds;
	return test_harness_run(argc, argv);
}
