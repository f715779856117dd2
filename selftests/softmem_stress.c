// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_stress: random operations under constant reclaim, each checked
 * against a model of the region it touches.
 *
 * STRESS_PROCS processes, each with its own pool, run STRESS_THREADS worker
 * threads.  A worker owns a few regions and keeps a shadow copy of each: it
 * knows every byte and whether the region is resumed, suspended (perhaps
 * discarded meanwhile) or known to be discarded.  The threads of a process
 * also share SHARED_REGIONS regions holding a fixed pattern: any thread reads
 * or suspends them under a read lock, resuming (and restoring a lost pattern)
 * takes the write lock.  Meanwhile one process runs every shrinker
 * (drop_caches) and memory.reclaim on the cgroup of the first worker process,
 * which moves to a fresh cgroup now and then so that the old one goes offline
 * with suspended regions on it; another touches anonymous memory down to a
 * floor between the min and low watermarks, so that kswapd reclaims too.
 * Every other worker process's pool is FIFO, regions come in every priority
 * class and change class now and then, and the manager discards past its
 * watermarks: none of that may break an invariant either.
 *
 * A "lost" is any broken invariant:
 *  - a resumed region changes only through its owner's operations;
 *  - a suspended region comes back intact byte for byte, or reported
 *    discarded and reading as zeros, never silently altered;
 *  - ESTALE exactly when discarded and not yet resumed;
 *  - counters are never negative, discard counters never go back, and a
 *    pool's and the module's regions, length, resident and suspended bytes
 *    return to 0 when everything is freed.
 *
 * Output: "# stress: N operations, L lost".  The seed is printed; set
 * SOFTMEM_STRESS_SEED to replay a run's operation sequence and
 * SOFTMEM_STRESS_OPS to change the number of operations.
 */
#include "softmem_test.h"

#include <pthread.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <stdatomic.h>

#define STRESS_PROCS		3
#define STRESS_THREADS		2
#define STRESS_WORKERS		(STRESS_PROCS * STRESS_THREADS)
#define OWN_REGIONS		6
#define SHARED_REGIONS		2
#define REGION_MAX_PAGES	4
#define STRESS_SEED		0x50f7e3ULL
#define STRESS_OPS_DEBUG	1000000ULL
#define STRESS_OPS_STOCK	750000ULL
#define LOST_REPORTS		5	/* violations printed per worker */
#define STRESS_CGROUP		CGROUP2_ROOT "/softmem-stress"
#define CGROUP_ROTATE_OPS	5000	/* first process: new cgroup this often */
#define HOG_CHUNK		(1 * MiB)
#define HOG_SWING		(32 * MiB)	/* given back after each round */

/* What one worker did; each slot is written by its worker only. */
struct stress_count {
	uint64_t ops;
	uint64_t lost;
	uint64_t discards;	/* losses reported by ESTALE or resume */
	uint64_t enomem;
};

/* Shared by the test and every process it forks. */
struct stress_shm {
	struct stress_count worker[STRESS_WORKERS];
	struct stress_count reclaim;	/* module-wide counter checks */
	uint64_t reclaim_rounds;
	uint64_t hog_rounds;
	uint64_t hog_peak;
	uint64_t cgroup_moves;
	atomic_int stop;		/* set when the workers are done */
};

/* A worker's view of one of its regions. */
enum model_state {
	MODEL_RESUMED,
	MODEL_SUSPENDED,	/* maybe discarded by now */
	MODEL_DISCARDED,	/* known: ESTALE until resumed */
};

struct owned_region {
	uint64_t handle;	/* 0: free slot */
	size_t bytes;		/* page-rounded length */
	enum model_state state;
	uint8_t *shadow;	/* what the region holds */
};

/* A region every thread of a process uses; content: pattern @seed or zeros. */
struct shared_region {
	pthread_rwlock_t lock;	/* read: suspend and read; write: resume */
	uint64_t handle;
	size_t bytes;
	unsigned int seed;
	bool zero;		/* lost and not restored; under the write lock */
	atomic_bool suspended;	/* suspended since the last resume */
};

struct worker {
	unsigned int id;
	int pool;
	uint64_t rng;
	uint64_t quota;		/* operations to run */
	size_t page;
	size_t max_bytes;
	bool rotate_cgroup;
	unsigned int cgroup_gen;
	uint64_t *cgroup_moves;
	struct stress_count *count;
	struct owned_region own[OWN_REGIONS];
	struct shared_region *shared;
	uint8_t *buf, *want;
	int64_t pool_discard_events, pool_discarded_bytes;
};

static void __attribute__((format(printf, 2, 3)))
lost(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (++w->count->lost > LOST_REPORTS)
		return;
	va_start(ap, fmt);
	say_report("# stress: worker", w->id, "LOST", fmt, ap);
	va_end(ap);
}

static uint64_t rnd(struct worker *w, uint64_t n)
{
	return test_rand_below(&w->rng, n);
}

static void rnd_fill(struct worker *w, uint8_t *buf, size_t len)
{
	size_t i;

	/* Small alphabets now and then, so that find and compare hit. */
	if (!rnd(w, 4)) {
		unsigned int mask = rnd(w, 2) ? 1 : 3;

		for (i = 0; i < len; i++)
			buf[i] = test_rand(&w->rng) & mask;
		return;
	}
	for (i = 0; i < len; i += 8) {
		uint64_t r = test_rand(&w->rng);

		memcpy(buf + i, &r, len - i < 8 ? len - i : 8);
	}
}

/* A length up to @max, mostly short. */
static size_t rnd_len(struct worker *w, size_t max)
{
	switch (rnd(w, 10)) {
	case 0 ... 5:
		return rnd(w, (max < 64 ? max : 64) + 1);
	case 6 ... 8:
		return rnd(w, (max < w->page ? max : w->page) + 1);
	default:
		return rnd(w, max + 1);
	}
}

/* A random range of a region of @bytes. */
static void rnd_range(struct worker *w, size_t bytes, size_t *off,
		      size_t *len)
{
	*off = rnd(w, bytes);
	if (!rnd(w, 4))
		*off &= ~(w->page - 1);
	*len = rnd_len(w, bytes - *off);
}

/* Counts one softmem call. */
static int op(struct worker *w, int ret)
{
	w->count->ops++;
	return ret;
}

/* Stops tracking a region whose state the model no longer knows. */
static void forget(struct worker *w, struct owned_region *r)
{
	softmem_free(w->pool, r->handle);
	r->handle = 0;
}

static void mark_discarded(struct worker *w, struct owned_region *r)
{
	r->state = MODEL_DISCARDED;
	memset(r->shadow, 0, r->bytes);
	w->count->discards++;
}

enum outcome { RAN, NOT_RAN, BROKEN };

/*
 * Applies the result of a data operation on @r to the model.  A data
 * operation implicitly resumes a suspended, intact region: after it passed
 * that point (success, or ENOMEM where @may_enomem), the region is resumed.
 */
static enum outcome single_outcome(struct worker *w, struct owned_region *r,
				   int ret, bool may_enomem, const char *what)
{
	if (r->state == MODEL_DISCARDED) {
		if (ret == -ESTALE)
			return NOT_RAN;
		lost(w, "%s on discarded region %llu: %s, want ESTALE", what,
		     (unsigned long long)r->handle, err_name(ret));
		forget(w, r);
		return BROKEN;
	}
	if (!ret || (ret == -ENOMEM && may_enomem)) {
		r->state = MODEL_RESUMED;
		if (!ret)
			return RAN;
		w->count->enomem++;
		return NOT_RAN;
	}
	if (ret == -ESTALE && r->state == MODEL_SUSPENDED) {
		mark_discarded(w, r);
		return NOT_RAN;
	}
	lost(w, "%s on %s region %llu: %s", what,
	     r->state == MODEL_RESUMED ? "resumed" : "suspended",
	     (unsigned long long)r->handle, err_name(ret));
	forget(w, r);
	return BROKEN;
}

/* The same for an operation on two regions, taken into use together. */
static enum outcome pair_outcome(struct worker *w, struct owned_region *a,
				 struct owned_region *b, int ret,
				 bool may_enomem, const char *what)
{
	int candidates;

	if (a == b)
		return single_outcome(w, a, ret, may_enomem, what);
	if (a->state == MODEL_DISCARDED || b->state == MODEL_DISCARDED) {
		if (ret == -ESTALE)
			return NOT_RAN;
		lost(w, "%s with a discarded region: %s, want ESTALE", what,
		     err_name(ret));
		goto broken;
	}
	if (!ret || (ret == -ENOMEM && may_enomem)) {
		a->state = MODEL_RESUMED;
		b->state = MODEL_RESUMED;
		if (!ret)
			return RAN;
		w->count->enomem++;
		return NOT_RAN;
	}
	candidates = (a->state == MODEL_SUSPENDED) +
		     (b->state == MODEL_SUSPENDED);
	if (ret == -ESTALE && candidates) {
		/* With two suspended regions, which one went is unknown. */
		if (candidates == 1)
			mark_discarded(w, a->state == MODEL_SUSPENDED ? a : b);
		return NOT_RAN;
	}
	lost(w, "%s on regions %llu and %llu: %s", what,
	     (unsigned long long)a->handle, (unsigned long long)b->handle,
	     err_name(ret));
broken:
	forget(w, a);
	forget(w, b);
	return BROKEN;
}

/* Reads [off, off + len) of a region the model holds resumed and checks it. */
static bool verify(struct worker *w, struct owned_region *r, size_t off,
		   size_t len, const char *what)
{
	int ret = op(w, softmem_read(w->pool, r->handle, off, w->buf, len));
	size_t i;

	if (ret) {
		lost(w, "%s: read of resumed region %llu: %s", what,
		     (unsigned long long)r->handle, err_name(ret));
		forget(w, r);
		return false;
	}
	for (i = 0; i < len; i++) {
		if (w->buf[i] != r->shadow[off + i]) {
			lost(w, "%s: region %llu byte %zu is %#x, want %#x",
			     what, (unsigned long long)r->handle, off + i,
			     w->buf[i], r->shadow[off + i]);
			forget(w, r);
			return false;
		}
	}
	return true;
}

static struct owned_region *pick_live(struct worker *w)
{
	unsigned int i, start = rnd(w, OWN_REGIONS);

	for (i = 0; i < OWN_REGIONS; i++) {
		struct owned_region *r = &w->own[(start + i) % OWN_REGIONS];

		if (r->handle)
			return r;
	}
	return NULL;
}

static struct owned_region *pick_free(struct worker *w)
{
	unsigned int i;

	for (i = 0; i < OWN_REGIONS; i++)
		if (!w->own[i].handle)
			return &w->own[i];
	return NULL;
}

static bool handle_known(struct worker *w, uint64_t handle)
{
	unsigned int i;

	for (i = 0; i < OWN_REGIONS; i++)
		if (w->own[i].handle == handle)
			return true;
	for (i = 0; i < SHARED_REGIONS; i++)
		if (w->shared[i].handle == handle)
			return true;
	return false;
}

static void do_alloc(struct worker *w)
{
	struct owned_region *r = pick_free(w);
	uint64_t length, handle = 0;
	int ret;

	if (!r)
		return;
	length = 1 + rnd(w, w->max_bytes);
	if (!rnd(w, 4))
		length = page_round_up(length);
	ret = op(w, rnd(w, 2) ? softmem_alloc(w->pool, length, &handle) :
			softmem_alloc_priority(w->pool, length,
					       rnd(w, SOFTMEM_NR_PRIORITIES),
					       &handle));
	if (ret == -ENOMEM) {
		w->count->enomem++;
		return;
	}
	if (ret || !handle || handle_known(w, handle)) {
		lost(w, "alloc of %llu bytes: %s, handle %llu",
		     (unsigned long long)length, err_name(ret),
		     (unsigned long long)handle);
		if (!ret && handle && !handle_known(w, handle))
			softmem_free(w->pool, handle);
		return;
	}
	r->handle = handle;
	r->bytes = page_round_up(length);
	r->state = MODEL_RESUMED;
	memset(r->shadow, 0, r->bytes);
}

static void do_free(struct worker *w, struct owned_region *r)
{
	uint64_t handle = r->handle;
	int ret = op(w, softmem_free(w->pool, handle));

	r->handle = 0;
	if (ret) {
		lost(w, "free of region %llu: %s", (unsigned long long)handle,
		     err_name(ret));
		return;
	}
	ret = op(w, softmem_suspend(w->pool, handle));
	if (ret != -ENOENT)
		lost(w, "suspend of freed region %llu: %s, want ENOENT",
		     (unsigned long long)handle, err_name(ret));
}

static void do_suspend(struct worker *w, struct owned_region *r)
{
	int ret = op(w, softmem_suspend(w->pool, r->handle));

	if (ret) {
		lost(w, "suspend of region %llu: %s",
		     (unsigned long long)r->handle, err_name(ret));
		forget(w, r);
		return;
	}
	if (r->state == MODEL_RESUMED)
		r->state = MODEL_SUSPENDED;
}

static void do_resume(struct worker *w, struct owned_region *r)
{
	enum model_state was = r->state;
	bool discarded = false;
	int ret = op(w, softmem_resume(w->pool, r->handle, &discarded));

	if (ret || (discarded && was == MODEL_RESUMED) ||
	    (!discarded && was == MODEL_DISCARDED)) {
		lost(w, "resume of %s region %llu: %s, %s",
		     was == MODEL_RESUMED ? "resumed" :
		     was == MODEL_SUSPENDED ? "suspended" : "discarded",
		     (unsigned long long)r->handle, err_name(ret),
		     discarded ? "discarded" : "intact");
		forget(w, r);
		return;
	}
	if (discarded && was == MODEL_SUSPENDED)
		mark_discarded(w, r);
	r->state = MODEL_RESUMED;
	if (was != MODEL_RESUMED)
		verify(w, r, 0, r->bytes, discarded ?
		       "discarded region after resume" :
		       "intact region after resume");
}

static void do_read(struct worker *w, struct owned_region *r)
{
	size_t off, len, i;
	int ret;

	rnd_range(w, r->bytes, &off, &len);
	ret = op(w, softmem_read(w->pool, r->handle, off, w->buf, len));
	if (single_outcome(w, r, ret, false, "read") != RAN)
		return;
	for (i = 0; i < len; i++) {
		if (w->buf[i] != r->shadow[off + i]) {
			lost(w, "read: region %llu byte %zu is %#x, want %#x",
			     (unsigned long long)r->handle, off + i,
			     w->buf[i], r->shadow[off + i]);
			forget(w, r);
			return;
		}
	}
}

static void do_write(struct worker *w, struct owned_region *r)
{
	size_t off, len;
	int ret;

	rnd_range(w, r->bytes, &off, &len);
	rnd_fill(w, w->buf, len);
	ret = op(w, softmem_write(w->pool, r->handle, off, w->buf, len));
	if (single_outcome(w, r, ret, true, "write") == RAN)
		memcpy(r->shadow + off, w->buf, len);
}

static void do_set(struct worker *w, struct owned_region *r)
{
	int value = rnd(w, 4) ? (int)rnd(w, 256) : 0;
	size_t off, len;
	int ret;

	rnd_range(w, r->bytes, &off, &len);
	ret = op(w, softmem_set(w->pool, r->handle, off, value, len));
	if (single_outcome(w, r, ret, true, "set") == RAN)
		memset(r->shadow + off, value, len);
}

static bool overlap(size_t a, size_t b, size_t len)
{
	return len && a < b + len && b < a + len;
}

static void do_copy(struct worker *w, struct owned_region *dst,
		    struct owned_region *src, bool move)
{
	size_t len, doff, soff;
	int ret;

	len = rnd_len(w, dst->bytes < src->bytes ? dst->bytes : src->bytes);
	doff = rnd(w, dst->bytes - len + 1);
	soff = rnd(w, src->bytes - len + 1);
	if (!move && dst == src && overlap(doff, soff, len)) {
		/* memcpy() semantics: refused before anything else. */
		ret = op(w, softmem_copy(w->pool, dst->handle, doff,
					 src->handle, soff, len));
		if (ret != -EINVAL) {
			lost(w, "overlapping copy in region %llu: %s, want EINVAL",
			     (unsigned long long)dst->handle, err_name(ret));
			forget(w, dst);
		}
		return;
	}
	ret = op(w, (move ? softmem_move : softmem_copy)(w->pool, dst->handle,
							 doff, src->handle,
							 soff, len));
	if (pair_outcome(w, dst, src, ret, true, move ? "move" : "copy") == RAN)
		memmove(dst->shadow + doff, src->shadow + soff, len);
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void do_compare(struct worker *w, struct owned_region *a,
		       struct owned_region *b)
{
	size_t len, aoff, boff;
	int ret, result = 7, want;

	len = rnd_len(w, a->bytes < b->bytes ? a->bytes : b->bytes);
	aoff = rnd(w, a->bytes - len + 1);
	boff = a == b && rnd(w, 2) ? aoff : rnd(w, b->bytes - len + 1);
	ret = op(w, softmem_compare(w->pool, a->handle, aoff, b->handle, boff,
				    len, &result));
	if (pair_outcome(w, a, b, ret, false, "compare") != RAN)
		return;
	want = sign(memcmp(a->shadow + aoff, b->shadow + boff, len));
	if (result != want) {
		lost(w, "compare of %llu+%zu and %llu+%zu, %zu bytes: %d, want %d",
		     (unsigned long long)a->handle, aoff,
		     (unsigned long long)b->handle, boff, len, result, want);
		forget(w, a);
		if (b != a)
			forget(w, b);
	}
}

static void do_compare_buf(struct worker *w, struct owned_region *r)
{
	int ret, result = 7, want;
	size_t off, len;

	rnd_range(w, r->bytes, &off, &len);
	memcpy(w->want, r->shadow + off, len);
	if (len && rnd(w, 2))
		w->want[rnd(w, len)] += 1 + rnd(w, 255);
	ret = op(w, softmem_compare_buf(w->pool, r->handle, off, w->want, len,
					&result));
	if (single_outcome(w, r, ret, true, "compare with buffer") != RAN)
		return;
	want = sign(memcmp(r->shadow + off, w->want, len));
	if (result != want) {
		lost(w, "compare of region %llu+%zu with buffer, %zu bytes: %d, want %d",
		     (unsigned long long)r->handle, off, len, result, want);
		forget(w, r);
	}
}

static void do_find(struct worker *w, struct owned_region *r)
{
	int64_t position = -7, want = -1;
	size_t off, len;
	uint8_t *hit;
	int value, ret;

	rnd_range(w, r->bytes, &off, &len);
	value = len && rnd(w, 2) ? r->shadow[off + rnd(w, len)] :
		(int)rnd(w, 256);
	ret = op(w, softmem_find(w->pool, r->handle, off, len, value,
				 &position));
	if (single_outcome(w, r, ret, false, "find") != RAN)
		return;
	hit = memchr(r->shadow + off, value, len);
	if (hit)
		want = hit - r->shadow;
	if (position != want) {
		lost(w, "find %#x in region %llu+%zu, %zu bytes: %lld, want %lld",
		     value, (unsigned long long)r->handle, off, len,
		     (long long)position, (long long)want);
		forget(w, r);
	}
}

/* Bad ranges fail with EINVAL whatever the region's state, changing nothing. */
static void do_bad_range(struct worker *w, struct owned_region *r)
{
	static const struct {
		int64_t offset_from_end;	/* offset: bytes + this */
		uint64_t length;
	} bad[] = {
		{ 0, 1 }, { -1, 2 }, { 1, 0 }, { -4096, 4097 },
		{ INT64_MAX, 1 },
	};
	unsigned int i = rnd(w, ARRAY_SIZE(bad) + 1);
	uint64_t offset, length;
	int ret;

	if (i < ARRAY_SIZE(bad)) {
		offset = r->bytes + bad[i].offset_from_end;
		length = bad[i].length;
	} else {
		offset = UINT64_MAX - 1;	/* offset + length overflows */
		length = 3;
	}
	ret = op(w, softmem_read(w->pool, r->handle, offset, w->buf, length));
	if (ret != -EINVAL) {
		lost(w, "read of region %llu (%zu bytes) at %llu, %llu bytes: %s, want EINVAL",
		     (unsigned long long)r->handle, r->bytes,
		     (unsigned long long)offset, (unsigned long long)length,
		     err_name(ret));
		forget(w, r);
	}
}

/* Another class changes nothing a worker can see but the order of discards. */
static void do_priority(struct worker *w, struct owned_region *r)
{
	int ret = op(w, softmem_set_priority(w->pool, r->handle,
					     rnd(w, SOFTMEM_NR_PRIORITIES)));

	if (ret)
		lost(w, "set priority of region %llu: %s",
		     (unsigned long long)r->handle, err_name(ret));
}

/* Pool counters: never negative, consistent with what this worker holds. */
static void do_stats(struct worker *w)
{
	struct softmem_stats st;
	uint64_t regions = SHARED_REGIONS, length = 0;
	const char *name;
	int64_t value;
	unsigned int i;
	int ret;

	for (i = 0; i < OWN_REGIONS; i++) {
		if (w->own[i].handle) {
			regions++;
			length += w->own[i].bytes;
		}
	}
	for (i = 0; i < SHARED_REGIONS; i++)
		length += w->shared[i].bytes;
	ret = op(w, pool_stats(w->pool, &st));
	if (ret) {
		lost(w, "pool stats: %s", err_name(ret));
		return;
	}
	name = stats_negative(&st, &value);
	if (name)
		lost(w, "pool counter %s is negative: %lld", name,
		     (long long)value);
	if (st.regions < regions || st.length_bytes < length)
		lost(w, "pool has %llu regions, %llu bytes; this worker alone holds %llu, %llu",
		     (unsigned long long)st.regions,
		     (unsigned long long)st.length_bytes,
		     (unsigned long long)regions, (unsigned long long)length);
	if ((int64_t)st.discard_events < w->pool_discard_events ||
	    (int64_t)st.discarded_bytes < w->pool_discarded_bytes)
		lost(w, "pool discard counters went back: %llu events, %llu bytes",
		     (unsigned long long)st.discard_events,
		     (unsigned long long)st.discarded_bytes);
	w->pool_discard_events = st.discard_events;
	w->pool_discarded_bytes = st.discarded_bytes;
}

/* Expected content of a shared region, [off, off + len). */
static void shared_want(struct worker *w, struct shared_region *s, size_t off,
			size_t len)
{
	if (s->zero)
		memset(w->want, 0, len);
	else
		pattern_fill(w->want, len, off, s->seed);
}

/* Under the read lock: suspend, or read and check. */
static void shared_reader(struct worker *w, struct shared_region *s)
{
	size_t off, len;
	int ret;

	if (!rnd(w, 3)) {
		atomic_store(&s->suspended, true);
		ret = op(w, softmem_suspend(w->pool, s->handle));
		if (ret)
			lost(w, "suspend of shared region %llu: %s",
			     (unsigned long long)s->handle, err_name(ret));
		return;
	}
	rnd_range(w, s->bytes, &off, &len);
	ret = op(w, softmem_read(w->pool, s->handle, off, w->buf, len));
	if (ret == -ESTALE && atomic_load(&s->suspended)) {
		/* Nobody can resume it while we hold the read lock. */
		ret = op(w, softmem_read(w->pool, s->handle, 0, w->buf, 1));
		if (ret != -ESTALE)
			lost(w, "shared region %llu: ESTALE, then %s",
			     (unsigned long long)s->handle, err_name(ret));
		return;
	}
	if (ret) {
		lost(w, "read of shared region %llu: %s",
		     (unsigned long long)s->handle, err_name(ret));
		return;
	}
	shared_want(w, s, off, len);
	if (memcmp(w->buf, w->want, len))
		lost(w, "shared region %llu changed in [%zu, %zu)",
		     (unsigned long long)s->handle, off, off + len);
}

/* Under the write lock: resume, check, and restore a lost pattern. */
static void shared_writer(struct worker *w, struct shared_region *s)
{
	bool discarded = false;
	int ret;

	ret = op(w, softmem_resume(w->pool, s->handle, &discarded));
	if (ret || (discarded && !atomic_load(&s->suspended))) {
		lost(w, "resume of shared region %llu: %s, %s",
		     (unsigned long long)s->handle, err_name(ret),
		     discarded ? "discarded" : "intact");
		return;
	}
	atomic_store(&s->suspended, false);
	if (discarded) {
		s->zero = true;
		w->count->discards++;
	}
	ret = op(w, softmem_read(w->pool, s->handle, 0, w->buf, s->bytes));
	shared_want(w, s, 0, s->bytes);
	if (ret || memcmp(w->buf, w->want, s->bytes)) {
		lost(w, "shared region %llu after %s resume: %s, %s",
		     (unsigned long long)s->handle,
		     discarded ? "discarded" : "intact", err_name(ret),
		     ret ? "" : "content differs");
		return;
	}
	if (!s->zero)
		return;
	pattern_fill(w->buf, s->bytes, 0, s->seed);
	ret = op(w, softmem_write(w->pool, s->handle, 0, w->buf, s->bytes));
	if (!ret)
		s->zero = false;
	else if (ret == -ENOMEM)
		w->count->enomem++;
	else
		lost(w, "restore of shared region %llu: %s",
		     (unsigned long long)s->handle, err_name(ret));
}

static void do_shared(struct worker *w)
{
	struct shared_region *s = &w->shared[rnd(w, SHARED_REGIONS)];

	if (rnd(w, 4)) {
		pthread_rwlock_rdlock(&s->lock);
		shared_reader(w, s);
	} else {
		pthread_rwlock_wrlock(&s->lock);
		shared_writer(w, s);
	}
	pthread_rwlock_unlock(&s->lock);
}

/*
 * Moves this process to a fresh child of STRESS_CGROUP and removes the old
 * one, whose memcg goes offline with this process's regions still on it.
 */
static void rotate_cgroup(struct worker *w)
{
	char old[128], path[160];

	snprintf(old, sizeof(old), STRESS_CGROUP "/w%u", w->cgroup_gen);
	w->cgroup_gen++;
	snprintf(path, sizeof(path), STRESS_CGROUP "/w%u", w->cgroup_gen);
	if (mkdir(path, 0755))
		return;
	strcat(path, "/cgroup.procs");
	if (write_file(path, "0"))
		return;
	rmdir(old);
	(*w->cgroup_moves)++;
}

static void step(struct worker *w)
{
	struct owned_region *r = pick_live(w), *other;
	unsigned int choice = rnd(w, 100);

	if (!r || choice < 3) {
		do_alloc(w);
		return;
	}
	other = pick_live(w);
	if (choice < 19)
		do_read(w, r);
	else if (choice < 31)
		do_write(w, r);
	else if (choice < 36)
		do_set(w, r);
	else if (choice < 41)
		do_copy(w, r, other, false);
	else if (choice < 46)
		do_copy(w, r, other, true);
	else if (choice < 50)
		do_compare(w, r, other);
	else if (choice < 52)
		do_compare_buf(w, r);
	else if (choice < 58)
		do_find(w, r);
	else if (choice < 73)
		do_suspend(w, r);
	else if (choice < 86)
		do_resume(w, r);
	else if (choice < 87)
		do_free(w, r);
	else if (choice < 88)
		do_priority(w, r);
	else if (choice < 90)
		do_stats(w);
	else if (choice < 91)
		do_bad_range(w, r);
	else
		do_shared(w);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint64_t next_rotate = CGROUP_ROTATE_OPS;
	unsigned int i;

	while (w->count->ops < w->quota) {
		step(w);
		if (w->rotate_cgroup && w->count->ops >= next_rotate) {
			rotate_cgroup(w);
			next_rotate += CGROUP_ROTATE_OPS;
		}
	}
	for (i = 0; i < OWN_REGIONS; i++)
		if (w->own[i].handle)
			do_free(w, &w->own[i]);
	return NULL;
}

static bool worker_init(struct worker *w, unsigned int id, int pool,
			uint64_t seed, uint64_t quota, struct stress_shm *shm,
			struct shared_region *shared)
{
	unsigned int i;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->pool = pool;
	w->rng = seed ^ (0x9e3779b97f4a7c15ULL * (id + 1));
	w->quota = quota;
	w->page = page_size();
	w->max_bytes = REGION_MAX_PAGES * w->page;
	w->count = &shm->worker[id];
	w->cgroup_moves = &shm->cgroup_moves;
	w->shared = shared;
	w->buf = malloc(w->max_bytes);
	w->want = malloc(w->max_bytes);
	if (!w->buf || !w->want)
		return false;
	for (i = 0; i < OWN_REGIONS; i++) {
		w->own[i].shadow = malloc(w->max_bytes);
		if (!w->own[i].shadow)
			return false;
	}
	return true;
}

/* Pool counters once everything but the shared regions is freed. */
static void check_pool_empty(struct worker *w, uint64_t want_regions,
			     const char *when)
{
	struct softmem_stats st;
	int ret = op(w, pool_stats(w->pool, &st));

	if (ret || st.regions != want_regions ||
	    (!want_regions && (st.length_bytes || st.resident_bytes)) ||
	    st.suspended_bytes > st.resident_bytes ||
	    (int64_t)st.resident_bytes < 0)
		lost(w, "pool %s: %s, %llu regions, %llu length, %llu resident, %llu suspended bytes",
		     when, err_name(ret), (unsigned long long)st.regions,
		     (unsigned long long)st.length_bytes,
		     (unsigned long long)st.resident_bytes,
		     (unsigned long long)st.suspended_bytes);
}

/*
 * One worker process: a pool, its shared regions and STRESS_THREADS worker
 * threads; the first thread's worker also reports the pool-level checks.
 */
static void __attribute__((noreturn))
worker_process(unsigned int proc, uint64_t seed, uint64_t quota,
	       struct stress_shm *shm, bool in_cgroup)
{
	static struct shared_region shared[SHARED_REGIONS];
	static struct worker w[STRESS_THREADS];
	pthread_t thread[STRESS_THREADS];
	size_t bytes = 4 * page_size();
	unsigned int i;
	int pool, ret;

	if (in_cgroup && write_file(STRESS_CGROUP "/w0/cgroup.procs", "0")) {
		say("# stress: cannot join %s/w0", STRESS_CGROUP);
		in_cgroup = false;
	}
	pool = softmem_open();
	if (pool < 0 ||
	    (proc % 2 && softmem_set_policy(pool, SOFTMEM_POLICY_FIFO)))
		_exit(10);
	for (i = 0; i < STRESS_THREADS; i++)
		if (!worker_init(&w[i], proc * STRESS_THREADS + i, pool, seed,
				 quota, shm, shared))
			_exit(11);
	w[0].rotate_cgroup = in_cgroup;

	for (i = 0; i < SHARED_REGIONS; i++) {
		struct shared_region *s = &shared[i];

		pthread_rwlock_init(&s->lock, NULL);
		s->bytes = bytes;
		s->seed = 1000 + proc * SHARED_REGIONS + i;
		ret = op(&w[0], region_alloc_filled(pool, bytes, s->seed,
						    &s->handle));
		if (ret)
			_exit(12);
	}
	for (i = 0; i < STRESS_THREADS; i++)
		if (pthread_create(&thread[i], NULL, worker_run, &w[i]))
			_exit(13);
	for (i = 0; i < STRESS_THREADS; i++)
		pthread_join(thread[i], NULL);

	check_pool_empty(&w[0], SHARED_REGIONS, "with the shared regions");
	for (i = 0; i < SHARED_REGIONS; i++) {
		ret = op(&w[0], softmem_free(pool, shared[i].handle));
		if (ret)
			lost(&w[0], "free of shared region: %s", err_name(ret));
	}
	check_pool_empty(&w[0], 0, "after the last free");
	softmem_close(pool);
	_exit(0);
}

/*
 * Module-wide counter @name as a signed number, so that a counter gone below
 * zero shows (sysfs prints byte counters unsigned); false if unreadable.
 */
static bool module_counter(const char *name, int64_t *value)
{
	uint64_t v;

	if (module_stat(name, &v))
		return false;
	*value = (int64_t)v;
	return true;
}

static const char *const module_counters[] = {
	"regions", "length_bytes", "resident_bytes", "suspended_bytes",
	"discarded_bytes", "discard_events",
};

#define NR_MODULE_COUNTERS	ARRAY_SIZE(module_counters)

/* Module counters never negative, discard counters never going back. */
static void check_module_counters(struct worker *w, int64_t *last)
{
	unsigned int i;
	int64_t v;

	for (i = 0; i < NR_MODULE_COUNTERS; i++) {
		if (!module_counter(module_counters[i], &v)) {
			lost(w, "cannot read module counter %s",
			     module_counters[i]);
			continue;
		}
		if (v < 0 || (i >= 4 && v < last[i]))
			lost(w, "module counter %s is %lld (was %lld)",
			     module_counters[i], (long long)v,
			     (long long)last[i]);
		last[i] = v;
	}
}

/*
 * Reclaim all the time: every shrinker, memory.reclaim on the stress cgroup,
 * and the module counters checked on the way.
 */
static void __attribute__((noreturn))
reclaimer(struct stress_shm *shm, uint64_t seed, bool cgroup)
{
	int64_t last[NR_MODULE_COUNTERS] = { 0 };
	struct worker w = {
		.id = STRESS_WORKERS, .rng = seed, .count = &shm->reclaim,
	};

	/* 4: drop_caches says so on the console only this once. */
	write_file("/proc/sys/vm/drop_caches", "6");
	while (!atomic_load(&shm->stop)) {
		drop_caches();
		if (cgroup)
			write_file(STRESS_CGROUP "/memory.reclaim", "1M");
		check_module_counters(&w, last);
		shm->reclaim_rounds++;
		usleep(2000 + rnd(&w, 10000));
	}
	_exit(0);
}

/* Sum of the min and low watermarks of every zone, in bytes. */
static void watermarks(uint64_t *min, uint64_t *low)
{
	char line[256], key[32];
	unsigned long long pages;
	FILE *f = fopen("/proc/zoneinfo", "re");

	*min = *low = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %31s %llu", key, &pages) != 2)
			continue;
		if (!strcmp(key, "min"))
			*min += pages * page_size();
		else if (!strcmp(key, "low"))
			*low += pages * page_size();
	}
	fclose(f);
}

/*
 * Touch anonymous memory until free memory is down to @floor, hold it a
 * moment, give HOG_SWING back, again; all of it at the end.  With the
 * watermarks spread apart (see hog_floor()) the floor lies between the min
 * and low watermarks and the swing crosses the low one: kswapd wakes up at
 * every round and reclaims, calling the shrinker from real reclaim, while
 * allocations still succeed without direct reclaim, far from the OOM killer.
 * The hog's pages are MADV_FREE: if the hog is too slow to give memory back
 * (a loaded host stretches its sleeps), reclaim takes them itself, and the
 * hog touches them again on its next round of the ring, which keeps kswapd
 * at work.  A round is a pass over the whole ring or a swing.
 */
static void __attribute__((noreturn))
hog(struct stress_shm *shm, uint64_t floor)
{
	uint64_t size = meminfo_bytes("MemTotal"), held = 0, cursor = 0;
	uint8_t *p;

	set_oom_score_adj(1000);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		_exit(1);
	while (!atomic_load(&shm->stop)) {
		uint64_t free = meminfo_bytes("MemFree"), step;

		if (free > floor + 2 * HOG_CHUNK) {
			/*
			 * Half the way down each time: never past the floor.
			 * The buffer is a ring: once all of it was touched,
			 * touching it again takes back what reclaim took.
			 */
			step = ((free - floor) / 2) & ~(HOG_CHUNK - 1);
			if (step > size - cursor)
				step = size - cursor;
			if (madvise(p + cursor, step, MADV_POPULATE_WRITE))
				memset(p + cursor, 0x5a, step);
			/*
			 * Still held, but lazily freed: reclaim can always
			 * take it, so the hog never drives the machine to
			 * the OOM killer, however late it wakes up to back
			 * off on a loaded host.
			 */
			madvise(p + cursor, step, MADV_FREE);
			cursor = (cursor + step) % size;
			/* A round: the whole ring touched once more. */
			if (!cursor)
				shm->hog_rounds++;
			held = held + step < size ? held + step : size;
			if (held > shm->hog_peak)
				shm->hog_peak = held;
			continue;
		}
		usleep(50000);
		step = cursor < HOG_SWING ? cursor : HOG_SWING;
		madvise(p + cursor - step, step, MADV_DONTNEED);
		shm->hog_rounds++;
		usleep(50000);
	}
	_exit(0);
}

#define WMARK_SCALE	"/proc/sys/vm/watermark_scale_factor"

/*
 * Free memory the hog leaves: halfway between the min and low watermarks
 * once watermark_scale_factor puts 10% of memory between them (the old value
 * goes to @old_scale), else well above them.
 */
static uint64_t hog_floor(uint64_t *old_scale)
{
	uint64_t min, low;

	*old_scale = 0;
	if (read_u64_file(WMARK_SCALE, old_scale) ||
	    write_file(WMARK_SCALE, "1000")) {
		*old_scale = 0;
		watermarks(&min, &low);
		say("# stress: cannot set %s: the hog stays above the watermarks",
		    WMARK_SCALE);
		return 2 * low + 64 * MiB;
	}
	watermarks(&min, &low);
	return min + (low - min) / 2;
}

/* A cgroup for the first worker process, or false (and why). */
static bool stress_cgroup_setup(void)
{
	char controllers[256];

	rmdir(STRESS_CGROUP "/w0");
	rmdir(STRESS_CGROUP);
	if (ensure_cgroup2()) {
		say("# stress: no cgroup2 at %s: memory.reclaim not exercised",
		    CGROUP2_ROOT);
		return false;
	}
	if (read_file(CGROUP2_ROOT "/cgroup.controllers", controllers,
		      sizeof(controllers)) || !strstr(controllers, "memory") ||
	    write_file(CGROUP2_ROOT "/cgroup.subtree_control", "+memory") ||
	    mkdir(STRESS_CGROUP, 0755) ||
	    write_file(STRESS_CGROUP "/cgroup.subtree_control", "+memory") ||
	    mkdir(STRESS_CGROUP "/w0", 0755)) {
		say("# stress: no memory cgroup: memory.reclaim not exercised");
		rmdir(STRESS_CGROUP);
		return false;
	}
	return true;
}

static void stress_cgroup_remove(void)
{
	char path[300];
	struct dirent *d;
	DIR *dir = opendir(STRESS_CGROUP);

	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_type != DT_DIR || d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), STRESS_CGROUP "/%s", d->d_name);
		rmdir(path);
	}
	closedir(dir);
	rmdir(STRESS_CGROUP);
}

FIXTURE(stress) {
	struct stress_shm *shm;
	bool cgroup;		/* STRESS_CGROUP to remove */
	uint64_t old_scale;	/* watermark_scale_factor to restore */
};

FIXTURE_SETUP(stress)
{
	SKIP_IF_NO_DEVICE();
	self->shm = mmap(NULL, sizeof(*self->shm), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->shm);
}

/* Also after a failed assertion: stop the helpers, undo the settings. */
FIXTURE_TEARDOWN(stress)
{
	if (self->shm && self->shm != MAP_FAILED) {
		atomic_store(&self->shm->stop, 1);
		munmap(self->shm, sizeof(*self->shm));
	}
	if (self->cgroup)
		stress_cgroup_remove();
	if (self->old_scale)
		write_u64_file(WMARK_SCALE, self->old_scale);
	set_module_param("manager_high_bytes", 0);
	set_module_param("manager_low_bytes", 0);
}

TEST_F_TIMEOUT(stress, random_operations_keep_every_invariant, 900)
{
	uint64_t seed = env_u64("SOFTMEM_STRESS_SEED", STRESS_SEED);
	bool debug = debug_kernel();
	uint64_t total = env_u64("SOFTMEM_STRESS_OPS", debug ?
				 STRESS_OPS_DEBUG : STRESS_OPS_STOCK);
	uint64_t quota = (total + STRESS_WORKERS - 1) / STRESS_WORKERS;
	struct stress_shm *shm = self->shm;
	uint64_t ops = 0, nr_lost = 0, discards = 0, enomem = 0;
	int64_t before_events = 0, after_events = 0, v = -1;
	pid_t worker[STRESS_PROCS], helper[2];
	struct worker check = { .id = STRESS_WORKERS };
	uint64_t floor;
	double start = now_seconds();
	unsigned int i;

	say("# stress: seed %#llx (SOFTMEM_STRESS_SEED), %llu operations (SOFTMEM_STRESS_OPS) on a %s kernel",
	    (unsigned long long)seed, (unsigned long long)total,
	    debug ? "debug" : "stock");
	ASSERT_EQ(0, set_oom_score_adj(-1000));
	module_counter("discard_events", &before_events);
	self->cgroup = stress_cgroup_setup();
	floor = hog_floor(&self->old_scale);
	/* The workers hold well over this: the manager runs all along. */
	set_module_param("manager_low_bytes", 128 * KiB);
	set_module_param("manager_high_bytes", 256 * KiB);

	helper[0] = fork();
	ASSERT_LE(0, helper[0]);
	if (!helper[0])
		reclaimer(shm, seed, self->cgroup);
	helper[1] = fork();
	ASSERT_LE(0, helper[1]);
	if (!helper[1])
		hog(shm, floor);
	for (i = 0; i < STRESS_PROCS; i++) {
		worker[i] = fork();
		ASSERT_LE(0, worker[i]);
		if (!worker[i]) {
			set_oom_score_adj(0);
			/*
			 * A stock run is short: let reclaim and the hog keep
			 * pace with six busy threads.  A debug run is long
			 * enough as it is, and slow enough.
			 */
			if (!debug)
				setpriority(PRIO_PROCESS, 0, 5);
			worker_process(i, seed, quota, shm, self->cgroup && !i);
		}
	}
	for (i = 0; i < STRESS_PROCS; i++) {
		int status = wait_child(worker[i]);

		if (status) {
			say("# stress: worker process %u exited with %d", i,
			    status);
			nr_lost++;
		}
	}
	atomic_store(&shm->stop, 1);
	EXPECT_EQ(0, wait_child(helper[0]));
	EXPECT_EQ(0, wait_child(helper[1]));
	if (self->cgroup)
		stress_cgroup_remove();
	self->cgroup = false;

	/* Everything is freed: the module holds nothing any more. */
	check.count = &shm->reclaim;
	for (i = 0; i < 4; i++) {
		if (!module_counter(module_counters[i], &v) || v) {
			lost(&check, "module counter %s is %lld after the run",
			     module_counters[i], (long long)v);
		}
	}
	module_counter("discard_events", &after_events);

	for (i = 0; i < STRESS_WORKERS; i++) {
		ops += shm->worker[i].ops;
		nr_lost += shm->worker[i].lost;
		discards += shm->worker[i].discards;
		enomem += shm->worker[i].enomem;
	}
	nr_lost += shm->reclaim.lost;
	say("# stress: summary: %llu losses reported by softmem, %lld discard events, %llu ENOMEM, %llu reclaim rounds, %llu cgroup moves, %llu hog rounds (peak %llu MiB, floor %llu MiB), %.1f s",
	    (unsigned long long)discards,
	    (long long)(after_events - before_events),
	    (unsigned long long)enomem,
	    (unsigned long long)shm->reclaim_rounds,
	    (unsigned long long)shm->cgroup_moves,
	    (unsigned long long)shm->hog_rounds,
	    (unsigned long long)(shm->hog_peak / MiB),
	    (unsigned long long)(floor / MiB), now_seconds() - start);
	say("# stress: %llu operations, %llu lost", (unsigned long long)ops,
	    (unsigned long long)nr_lost);
	EXPECT_EQ(0, nr_lost);
	EXPECT_LE(total, ops);
	/* Reclaim did discard regions under the workers, or nothing was tested. */
	EXPECT_LT(0, discards);
}

TEST_HARNESS_MAIN
