// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_stress: random operations under constant reclaim, each checked
 * against a model of the region it touches.
 *
 * STRESS_PROCS processes, each with its own pool and a side pool, run
 * STRESS_THREADS worker threads.  A worker owns a few regions and keeps a
 * shadow copy of each: it knows every byte, and for each handle of the
 * region whether it is resumed, suspended (perhaps discarded meanwhile) or
 * known to be discarded.  A region starts with one handle; the worker
 * exports it now and then and imports it into the other pool, so that many
 * regions have two handles, one per pool, each with its own state, and
 * frees one handle or the other.  The regions of the first MAPPED_SLOTS
 * slots are mapped: the worker reads and writes them through the mapping
 * too, whatever their handles' states, catching SIGBUS.  Sharing and
 * mapping take NEW_OPS_STOCK per mille of the steps (NEW_OPS_DEBUG on the
 * debug kernel).  The threads of a process also share SHARED_REGIONS
 * regions holding a fixed pattern, and every worker process holds a handle
 * of one more, allocated before the fork by a pool that is closed at once,
 * and imported from the inherited descriptor; each process maps them all.
 * Any thread reads (by ioctl or through the mapping) or suspends them under
 * a read lock; resuming (and restoring a lost pattern, by ioctl or through
 * the mapping) takes the write lock.  Meanwhile one process runs
 * every shrinker (drop_caches) and memory.reclaim on the cgroup of the first
 * worker process, which moves to a fresh cgroup now and then so that the
 * old one goes offline with suspended regions on it; another touches
 * anonymous memory down to a floor between the min and low watermarks, so
 * that kswapd reclaims too.  Every other worker process's pool is FIFO (the
 * side pools the others), the first two processes' pools and the third's
 * side pool suspend and resume through state words, without a system call
 * (so that shared regions have lock-free and ioctl holders at once, under
 * both policies), regions come in every priority class and change class now
 * and then, and the manager discards past its watermarks: none of that may
 * break an invariant either.
 *
 * A "lost" is any broken invariant:
 *  - a region held resumed changes only through its owner's operations (by
 *    ioctl or through its mapping);
 *  - a region nobody holds resumed comes back intact byte for byte, or its
 *    discard is reported to each of its holders, exactly once, at that
 *    holder's next resume: never silently altered (a holder owed a loss
 *    whose region may have been discarded again tells by the content which
 *    happened; only if the region held zeros, which both leave, can either
 *    report to its other holder be right);
 *  - ESTALE exactly when a handle's holder was not told of a discard yet;
 *  - a mapping shows the region's bytes both ways and never raises SIGBUS
 *    on a page the region holds while a handle holds it resumed; a page it
 *    had raises SIGBUS only once the region is discarded, and then every
 *    holder is told; the mapping of a region known discarded raises SIGBUS
 *    until a holder resumes it;
 *  - counters are never negative, discard counters never go back, and a
 *    pool's and the module's regions, length, resident and suspended bytes
 *    return to 0 when everything is freed.
 *
 * Output: "# stress: N operations, L lost", after a summary line and a line
 * counting the sharing and mapping operations.  The seed is printed; set
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
#define NR_SHARED		(SHARED_REGIONS + 1)	/* and the cross one */
#define CROSS			SHARED_REGIONS		/* its index */
#define CROSS_SEED		999
#define HOLDERS			2	/* handles of an owned region: two pools */
#define MAPPED_SLOTS		2	/* of OWN_REGIONS, whose regions are mapped */
#define REGION_MAX_PAGES	4
#define STRESS_SEED		0x50f7e3ULL
#define STRESS_OPS_DEBUG	1000000ULL
#define STRESS_OPS_STOCK	500000ULL
/* Steps, per mille, that share or map a region (export, import, mmap). */
#define NEW_OPS_STOCK		100
#define NEW_OPS_DEBUG		50
#define LOST_REPORTS		5	/* violations printed per worker */
#define STRESS_CGROUP		CGROUP2_ROOT "/softmem-stress"
#define CGROUP_ROTATE_OPS	5000	/* first process: new cgroup this often */
#define HOG_CHUNK		(1 * MiB)
#define HOG_SWING		(32 * MiB)	/* given back after each round */
#define ZAP_WAIT_US		(5 * 1000 * 1000)
#define IMPORT_WAIT_US		(60 * 1000 * 1000)

_Static_assert(REGION_MAX_PAGES <= 64, "owned_region.paged has a bit a page");

/* What one worker did; each slot is written by its worker only. */
struct stress_count {
	uint64_t ops;
	uint64_t lost;
	uint64_t discards;	/* losses reported by ESTALE, resume or SIGBUS */
	uint64_t enomem;
	uint64_t exports;
	uint64_t imports;
	uint64_t maps;		/* mappings made */
	uint64_t touches;	/* guarded touches of mappings */
	uint64_t touches_resumed; /* of them, of regions held resumed */
	uint64_t sigbus;	/* caught touching regions nobody held resumed */
	uint64_t told_twice;	/* losses reported to a second holder */
	uint64_t cross_losses;	/* of the region every process holds */
	uint64_t zap_waits;	/* mappings still there after an ESTALE */
};

/* Shared by the test and every process it forks. */
struct stress_shm {
	struct stress_count worker[STRESS_WORKERS];
	struct stress_count reclaim;	/* module-wide counter checks */
	uint64_t reclaim_rounds;
	uint64_t hog_rounds;
	uint64_t hog_peak;
	uint64_t cgroup_moves;
	atomic_uint imported;		/* worker processes holding the cross one */
	atomic_int stop;		/* set when the workers are done */
};

/* A worker's view of one handle of a region. */
enum model_state {
	MODEL_RESUMED,
	MODEL_SUSPENDED,	/* maybe discarded by now */
	MODEL_DISCARDED,	/* known: ESTALE until resumed */
};

struct holder {
	uint64_t handle;	/* 0: none */
	enum model_state state;
	bool via_other;		/* discarded: learned by another holder */
	bool maybe;		/* suspended: may be owed a loss (see settle()) */
};

/*
 * A region a worker owns: its handles, h[0] in the worker's pool and h[1]
 * in its side pool, either or both; its content; perhaps a mapping.
 */
struct owned_region {
	struct holder h[HOLDERS];
	size_t bytes;		/* page-rounded length */
	uint8_t *shadow;	/* what the region holds */
	bool gone;		/* known discarded, and no holder resumed since */
	uint64_t paged;		/* pages known to be allocated, a bit each */
	uint8_t *map;		/* [map_off, map_off + map_len) mapped, or NULL */
	size_t map_off, map_len;
};

/*
 * A region every thread of a process uses; content: pattern @seed or zeros.
 * The cross one is held by every worker process, each in its own pool: when
 * this process was told of a loss, other processes may have restored the
 * pattern already, so each byte is zero or the pattern's.
 */
struct shared_region {
	pthread_rwlock_t lock;	/* read: suspend and read; write: resume */
	uint64_t handle;
	size_t bytes;
	unsigned int seed;
	bool cross;
	bool zero;		/* lost and not restored; under the write lock */
	atomic_bool suspended;	/* suspended since the last resume */
	uint8_t *map;		/* all of it, read and write */
};

struct worker {
	unsigned int id;
	int pool;
	int side;		/* the side pool: second handles of owned regions */
	uint64_t rng;
	uint64_t quota;		/* operations to run */
	unsigned int new_ops;	/* per mille of steps that share or map */
	size_t page;
	size_t max_bytes;
	bool rotate_cgroup;
	unsigned int cgroup_gen;
	uint64_t *cgroup_moves;
	struct stress_count *count;
	struct owned_region own[OWN_REGIONS];
	struct shared_region *shared;	/* NR_SHARED */
	uint8_t *buf, *want;
	int64_t pool_discard_events[HOLDERS], pool_discarded_bytes[HOLDERS];
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

/* Counts one softmem call, or one touch of a mapping. */
static int op(struct worker *w, int ret)
{
	w->count->ops++;
	return ret;
}

/* The pool of handle @k of an owned region. */
static int holder_pool(struct worker *w, unsigned int k)
{
	return k ? w->side : w->pool;
}

static uint64_t handle_of(struct owned_region *r, unsigned int k)
{
	return r->h[k].handle;
}

static bool region_live(const struct owned_region *r)
{
	unsigned int k;

	for (k = 0; k < HOLDERS; k++)
		if (r->h[k].handle)
			return true;
	return false;
}

/* A handle that holds @r resumed, or HOLDERS if none does. */
static unsigned int resumed_holder(const struct owned_region *r)
{
	unsigned int k;

	for (k = 0; k < HOLDERS; k++)
		if (r->h[k].handle && r->h[k].state == MODEL_RESUMED)
			return k;
	return HOLDERS;
}

/*
 * Whether reclaim may discard @r now, for all the model knows: no handle
 * holds it resumed, and it is not known to be discarded already (a
 * discarded region stays so, without pages, until a holder resumes it).
 */
static bool discardable(const struct owned_region *r)
{
	return !r->gone && resumed_holder(r) == HOLDERS;
}

static void unmap_region(struct owned_region *r)
{
	if (r->map)
		munmap(r->map, r->map_len);
	r->map = NULL;
}

/* Stops tracking a region whose state the model no longer knows. */
static void forget(struct worker *w, struct owned_region *r)
{
	unsigned int k;

	for (k = 0; k < HOLDERS; k++) {
		if (r->h[k].handle)
			softmem_free(holder_pool(w, k), r->h[k].handle);
		r->h[k].handle = 0;
	}
	unmap_region(r);
}

/*
 * The region was discarded while nobody held it resumed: learned by holder
 * @k (ESTALE or resume), or through the mapping (@k is HOLDERS).  Every
 * holder not told yet will be, once, at its next resume.
 */
static void region_lost(struct worker *w, struct owned_region *r,
			unsigned int k)
{
	unsigned int j;

	for (j = 0; j < HOLDERS; j++) {
		if (!r->h[j].handle || r->h[j].state != MODEL_SUSPENDED)
			continue;
		r->h[j].state = MODEL_DISCARDED;
		r->h[j].via_other = j != k;
		r->h[j].maybe = false;
	}
	memset(r->shadow, 0, r->bytes);
	r->paged = 0;
	r->gone = true;
	w->count->discards++;
}

enum outcome { RAN, NOT_RAN, BROKEN };

/* Handle @k holds @r resumed now. */
static void take_resumed(struct owned_region *r, unsigned int k)
{
	r->h[k].state = MODEL_RESUMED;
	r->h[k].via_other = false;
	r->h[k].maybe = false;
	r->gone = false;
}

static bool all_zero(const uint8_t *buf, size_t len)
{
	return !len || (!buf[0] && !memcmp(buf, buf + 1, len - 1));
}

/*
 * Handle @k, owed a loss already (or maybe), was just told of one by a
 * resume while the region was discardable: the loss it was owed, or a new
 * discard meanwhile, which every other suspended handle is owed too.  The
 * content tells: what the model holds, or zeros.  When what it holds is
 * zeros, nobody can tell: the other suspended handles may be owed a loss
 * (holder.maybe), and their next resume may report one or not.  False if
 * the content is neither (reported and forgotten).
 */
static bool settle(struct worker *w, struct owned_region *r, unsigned int k)
{
	int ret = op(w, softmem_read(holder_pool(w, k), handle_of(r, k), 0,
				     w->buf, r->bytes));
	unsigned int j;

	if (ret) {
		lost(w, "read of handle %llu/%u after a resume: %s",
		     (unsigned long long)handle_of(r, k), k, err_name(ret));
		forget(w, r);
		return false;
	}
	if (!memcmp(w->buf, r->shadow, r->bytes)) {
		if (!all_zero(r->shadow, r->bytes))
			return true;
		for (j = 0; j < HOLDERS; j++)
			if (j != k && r->h[j].handle &&
			    r->h[j].state == MODEL_SUSPENDED)
				r->h[j].maybe = true;
		/* Its pages may be gone too. */
		r->paged = 0;
		return true;
	}
	if (all_zero(w->buf, r->bytes)) {
		region_lost(w, r, k);
		return true;
	}
	lost(w, "handle %llu/%u, told of a loss: neither the data nor zeros",
	     (unsigned long long)handle_of(r, k), k);
	forget(w, r);
	return false;
}

/*
 * Handle @k, suspended, got ESTALE: its holder was owed a loss.  That is a
 * discard now if nobody held the region resumed; else it can only be the
 * one it may have been owed.  If it may be either, its resume tells.
 */
static enum outcome holder_stale(struct worker *w, struct owned_region *r,
				 unsigned int k, const char *what)
{
	struct holder *h = &r->h[k];
	bool discarded = false;
	int ret;

	if (!discardable(r)) {
		if (!h->maybe) {
			lost(w, "%s on suspended handle %llu/%u of a region held resumed: ESTALE",
			     what, (unsigned long long)h->handle, k);
			forget(w, r);
			return BROKEN;
		}
		h->state = MODEL_DISCARDED;
		h->maybe = false;
		return NOT_RAN;
	}
	if (!h->maybe) {
		region_lost(w, r, k);
		return NOT_RAN;
	}
	ret = op(w, softmem_resume(holder_pool(w, k), h->handle, &discarded));
	if (ret || !discarded) {
		lost(w, "%s on handle %llu/%u: ESTALE, then resume: %s, %s",
		     what, (unsigned long long)h->handle, k, err_name(ret),
		     discarded ? "discarded" : "intact");
		forget(w, r);
		return BROKEN;
	}
	if (!settle(w, r, k))
		return BROKEN;
	take_resumed(r, k);
	return NOT_RAN;
}

/* Pages of [@off, @off + @len) of @r are allocated now. */
static void mark_paged(struct worker *w, struct owned_region *r, size_t off,
		       size_t len)
{
	size_t page;

	if (!len)
		return;
	for (page = off / w->page; page <= (off + len - 1) / w->page; page++)
		r->paged |= 1ULL << page;
}

static const char *state_name(enum model_state state)
{
	return state == MODEL_RESUMED ? "resumed" :
	       state == MODEL_SUSPENDED ? "suspended" : "discarded";
}

/*
 * Applies the result of a data operation on handle @k of @r to the model.
 * A data operation implicitly resumes a suspended handle whose holder was
 * told of every discard: after it passed that point (success, or ENOMEM
 * where @may_enomem), the handle is resumed.  ESTALE on a suspended handle
 * is a discard only if nobody held the region resumed.
 */
static enum outcome single_outcome(struct worker *w, struct owned_region *r,
				   unsigned int k, int ret, bool may_enomem,
				   const char *what)
{
	struct holder *h = &r->h[k];

	if (h->state == MODEL_DISCARDED) {
		if (ret == -ESTALE)
			return NOT_RAN;
		lost(w, "%s on discarded handle %llu/%u: %s, want ESTALE", what,
		     (unsigned long long)h->handle, k, err_name(ret));
		forget(w, r);
		return BROKEN;
	}
	if (!ret || (ret == -ENOMEM && may_enomem)) {
		take_resumed(r, k);
		if (!ret)
			return RAN;
		w->count->enomem++;
		return NOT_RAN;
	}
	if (ret == -ESTALE && h->state == MODEL_SUSPENDED)
		return holder_stale(w, r, k, what);
	lost(w, "%s on %s handle %llu/%u (%s): %s", what, state_name(h->state),
	     (unsigned long long)h->handle, k,
	     discardable(r) ? "discardable" : "held resumed", err_name(ret));
	forget(w, r);
	return BROKEN;
}

/* The same for an operation on two regions, taken into use together. */
static enum outcome pair_outcome(struct worker *w, struct owned_region *a,
				 struct owned_region *b, unsigned int k,
				 int ret, bool may_enomem, const char *what)
{
	struct holder *ha = &a->h[k], *hb = &b->h[k];
	bool ca, cb;

	if (a == b)
		return single_outcome(w, a, k, ret, may_enomem, what);
	if (ha->state == MODEL_DISCARDED || hb->state == MODEL_DISCARDED) {
		if (ret == -ESTALE)
			return NOT_RAN;
		lost(w, "%s with a discarded handle: %s, want ESTALE", what,
		     err_name(ret));
		goto broken;
	}
	if (!ret || (ret == -ENOMEM && may_enomem)) {
		take_resumed(a, k);
		take_resumed(b, k);
		if (!ret)
			return RAN;
		w->count->enomem++;
		return NOT_RAN;
	}
	ca = ha->state == MODEL_SUSPENDED && (discardable(a) || ha->maybe);
	cb = hb->state == MODEL_SUSPENDED && (discardable(b) || hb->maybe);
	if (ret == -ESTALE && (ca || cb)) {
		/* With two candidates, which one went is unknown. */
		if (ca != cb)
			return holder_stale(w, ca ? a : b, k, what);
		return NOT_RAN;
	}
	lost(w, "%s on handles %llu and %llu/%u: %s", what,
	     (unsigned long long)ha->handle, (unsigned long long)hb->handle, k,
	     err_name(ret));
broken:
	forget(w, a);
	forget(w, b);
	return BROKEN;
}

/* Reads [off, off + len) through a handle that holds it resumed; checks it. */
static bool verify(struct worker *w, struct owned_region *r, unsigned int k,
		   size_t off, size_t len, const char *what)
{
	int ret = op(w, softmem_read(holder_pool(w, k), handle_of(r, k), off,
				     w->buf, len));
	size_t i;

	if (ret) {
		lost(w, "%s: read of resumed handle %llu/%u: %s", what,
		     (unsigned long long)handle_of(r, k), k, err_name(ret));
		forget(w, r);
		return false;
	}
	for (i = 0; i < len; i++) {
		if (w->buf[i] != r->shadow[off + i]) {
			lost(w, "%s: handle %llu/%u byte %zu is %#x, want %#x",
			     what, (unsigned long long)handle_of(r, k), k,
			     off + i, w->buf[i], r->shadow[off + i]);
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

		if (region_live(r))
			return r;
	}
	return NULL;
}

/* A region with a handle in pool @k, or NULL. */
static struct owned_region *pick_live_in(struct worker *w, unsigned int k)
{
	unsigned int i, start = rnd(w, OWN_REGIONS);

	for (i = 0; i < OWN_REGIONS; i++) {
		struct owned_region *r = &w->own[(start + i) % OWN_REGIONS];

		if (r->h[k].handle)
			return r;
	}
	return NULL;
}

/* One of the handles of a live region. */
static unsigned int pick_holder(struct worker *w, struct owned_region *r)
{
	unsigned int k = rnd(w, HOLDERS);

	return r->h[k].handle ? k : 1 - k;
}

static struct owned_region *pick_free(struct worker *w)
{
	unsigned int i;

	for (i = 0; i < OWN_REGIONS; i++)
		if (!region_live(&w->own[i]))
			return &w->own[i];
	return NULL;
}

static bool handle_known(struct worker *w, unsigned int k, uint64_t handle)
{
	unsigned int i;

	for (i = 0; i < OWN_REGIONS; i++)
		if (w->own[i].h[k].handle == handle)
			return true;
	for (i = 0; !k && i < NR_SHARED; i++)
		if (w->shared[i].handle == handle)
			return true;
	return false;
}

/* A new region, in the worker's pool mostly, else in its side pool. */
static void do_alloc(struct worker *w)
{
	struct owned_region *r = pick_free(w);
	uint64_t length, handle = 0;
	unsigned int k;
	int ret, pool;

	if (!r)
		return;
	k = rnd(w, 4) ? 0 : 1;
	pool = holder_pool(w, k);
	length = 1 + rnd(w, w->max_bytes);
	if (!rnd(w, 4))
		length = page_round_up(length);
	ret = op(w, rnd(w, 2) ? softmem_alloc(pool, length, &handle) :
		    softmem_alloc_priority(pool, length,
					   rnd(w, SOFTMEM_NR_PRIORITIES),
					   &handle));
	if (ret == -ENOMEM) {
		w->count->enomem++;
		return;
	}
	if (ret || !handle || handle_known(w, k, handle)) {
		lost(w, "alloc of %llu bytes in pool %u: %s, handle %llu",
		     (unsigned long long)length, k, err_name(ret),
		     (unsigned long long)handle);
		if (!ret && handle && !handle_known(w, k, handle))
			softmem_free(pool, handle);
		return;
	}
	memset(r->h, 0, sizeof(r->h));
	r->h[k].handle = handle;
	r->h[k].state = MODEL_RESUMED;
	r->bytes = page_round_up(length);
	memset(r->shadow, 0, r->bytes);
	r->gone = false;
	r->paged = 0;
	r->map = NULL;
}

/* Frees handle @k; the region lives on while it has another, or a mapping. */
static void do_free(struct worker *w, struct owned_region *r, unsigned int k)
{
	uint64_t handle = handle_of(r, k);
	int pool = holder_pool(w, k);
	int ret = op(w, softmem_free(pool, handle));

	r->h[k].handle = 0;
	if (!region_live(r))
		unmap_region(r);
	if (ret) {
		lost(w, "free of handle %llu/%u: %s", (unsigned long long)handle,
		     k, err_name(ret));
		return;
	}
	ret = op(w, softmem_suspend(pool, handle));
	if (ret != -ENOENT)
		lost(w, "suspend of freed handle %llu/%u: %s, want ENOENT",
		     (unsigned long long)handle, k, err_name(ret));
}

static void do_suspend(struct worker *w, struct owned_region *r,
		       unsigned int k)
{
	int ret = op(w, softmem_suspend(holder_pool(w, k), handle_of(r, k)));

	if (ret) {
		lost(w, "suspend of handle %llu/%u: %s",
		     (unsigned long long)handle_of(r, k), k, err_name(ret));
		forget(w, r);
		return;
	}
	if (r->h[k].state == MODEL_RESUMED)
		r->h[k].state = MODEL_SUSPENDED;
}

/*
 * A resume reports a discard to a handle known to be owed one, may report
 * one to a suspended handle of a region nobody held resumed (and then every
 * other suspended handle is owed one) or that may be owed one, and must
 * report none otherwise.
 */
static void do_resume(struct worker *w, struct owned_region *r,
		      unsigned int k)
{
	struct holder *h = &r->h[k];
	enum model_state was = h->state;
	bool live = discardable(r), owed = was == MODEL_DISCARDED || h->maybe;
	bool may = was == MODEL_SUSPENDED && (live || h->maybe);
	bool discarded = false;
	int ret = op(w, softmem_resume(holder_pool(w, k), h->handle,
				       &discarded));

	if (ret || (discarded && was != MODEL_DISCARDED && !may) ||
	    (!discarded && was == MODEL_DISCARDED)) {
		lost(w, "resume of %s handle %llu/%u (%s, other handle %s): %s, %s",
		     state_name(was), (unsigned long long)h->handle, k,
		     may ? "discardable" : "not discardable",
		     r->h[1 - k].handle ? state_name(r->h[1 - k].state) :
		     "none", err_name(ret), discarded ? "discarded" : "intact");
		forget(w, r);
		return;
	}
	if (discarded && h->via_other)
		w->count->told_twice++;
	if (discarded && live && owed) {
		/* The loss it was owed, or a new one: the content tells. */
		if (settle(w, r, k))
			take_resumed(r, k);
		return;
	}
	if (discarded && was == MODEL_SUSPENDED && !h->maybe)
		region_lost(w, r, k);
	take_resumed(r, k);
	if (was != MODEL_RESUMED)
		verify(w, r, k, 0, r->bytes, discarded ?
		       "discarded region after resume" :
		       "intact region after resume");
}

static void do_read(struct worker *w, struct owned_region *r, unsigned int k)
{
	size_t off, len, i;
	int ret;

	rnd_range(w, r->bytes, &off, &len);
	ret = op(w, softmem_read(holder_pool(w, k), handle_of(r, k), off,
				 w->buf, len));
	if (single_outcome(w, r, k, ret, false, "read") != RAN)
		return;
	for (i = 0; i < len; i++) {
		if (w->buf[i] != r->shadow[off + i]) {
			lost(w, "read: handle %llu/%u byte %zu is %#x, want %#x",
			     (unsigned long long)handle_of(r, k), k, off + i,
			     w->buf[i], r->shadow[off + i]);
			forget(w, r);
			return;
		}
	}
}

static void do_write(struct worker *w, struct owned_region *r, unsigned int k)
{
	size_t off, len;
	int ret;

	rnd_range(w, r->bytes, &off, &len);
	rnd_fill(w, w->buf, len);
	ret = op(w, softmem_write(holder_pool(w, k), handle_of(r, k), off,
				  w->buf, len));
	if (single_outcome(w, r, k, ret, true, "write") == RAN) {
		memcpy(r->shadow + off, w->buf, len);
		mark_paged(w, r, off, len);
	}
}

static void do_set(struct worker *w, struct owned_region *r, unsigned int k)
{
	int value = rnd(w, 4) ? (int)rnd(w, 256) : 0;
	size_t off, len;
	int ret;

	rnd_range(w, r->bytes, &off, &len);
	ret = op(w, softmem_set(holder_pool(w, k), handle_of(r, k), off, value,
				len));
	if (single_outcome(w, r, k, ret, true, "set") == RAN) {
		memset(r->shadow + off, value, len);
		if (value)
			mark_paged(w, r, off, len);
	}
}

static bool overlap(size_t a, size_t b, size_t len)
{
	return len && a < b + len && b < a + len;
}

static void do_copy(struct worker *w, struct owned_region *dst,
		    struct owned_region *src, unsigned int k, bool move)
{
	int pool = holder_pool(w, k);
	size_t len, doff, soff;
	int ret;

	len = rnd_len(w, dst->bytes < src->bytes ? dst->bytes : src->bytes);
	doff = rnd(w, dst->bytes - len + 1);
	soff = rnd(w, src->bytes - len + 1);
	if (!move && dst == src && overlap(doff, soff, len)) {
		/* memcpy() semantics: refused before anything else. */
		ret = op(w, softmem_copy(pool, handle_of(dst, k), doff,
					 handle_of(src, k), soff, len));
		if (ret != -EINVAL) {
			lost(w, "overlapping copy in handle %llu/%u: %s, want EINVAL",
			     (unsigned long long)handle_of(dst, k), k,
			     err_name(ret));
			forget(w, dst);
		}
		return;
	}
	ret = op(w, (move ? softmem_move : softmem_copy)(pool, handle_of(dst, k),
							 doff,
							 handle_of(src, k),
							 soff, len));
	if (pair_outcome(w, dst, src, k, ret, true,
			 move ? "move" : "copy") == RAN) {
		memmove(dst->shadow + doff, src->shadow + soff, len);
		mark_paged(w, dst, doff, len);
	}
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void do_compare(struct worker *w, struct owned_region *a,
		       struct owned_region *b, unsigned int k)
{
	size_t len, aoff, boff;
	int ret, result = 7, want;

	len = rnd_len(w, a->bytes < b->bytes ? a->bytes : b->bytes);
	aoff = rnd(w, a->bytes - len + 1);
	boff = a == b && rnd(w, 2) ? aoff : rnd(w, b->bytes - len + 1);
	ret = op(w, softmem_compare(holder_pool(w, k), handle_of(a, k), aoff,
				    handle_of(b, k), boff, len, &result));
	if (pair_outcome(w, a, b, k, ret, false, "compare") != RAN)
		return;
	want = sign(memcmp(a->shadow + aoff, b->shadow + boff, len));
	if (result != want) {
		lost(w, "compare of %llu+%zu and %llu+%zu/%u, %zu bytes: %d, want %d",
		     (unsigned long long)handle_of(a, k), aoff,
		     (unsigned long long)handle_of(b, k), boff, k, len, result,
		     want);
		forget(w, a);
		if (b != a)
			forget(w, b);
	}
}

static void do_compare_buf(struct worker *w, struct owned_region *r,
			   unsigned int k)
{
	int ret, result = 7, want;
	size_t off, len;

	rnd_range(w, r->bytes, &off, &len);
	memcpy(w->want, r->shadow + off, len);
	if (len && rnd(w, 2))
		w->want[rnd(w, len)] += 1 + rnd(w, 255);
	ret = op(w, softmem_compare_buf(holder_pool(w, k), handle_of(r, k), off,
					w->want, len, &result));
	if (single_outcome(w, r, k, ret, true, "compare with buffer") != RAN)
		return;
	want = sign(memcmp(r->shadow + off, w->want, len));
	if (result != want) {
		lost(w, "compare of handle %llu/%u+%zu with buffer, %zu bytes: %d, want %d",
		     (unsigned long long)handle_of(r, k), k, off, len, result,
		     want);
		forget(w, r);
	}
}

static void do_find(struct worker *w, struct owned_region *r, unsigned int k)
{
	int64_t position = -7, want = -1;
	size_t off, len;
	uint8_t *hit;
	int value, ret;

	rnd_range(w, r->bytes, &off, &len);
	value = len && rnd(w, 2) ? r->shadow[off + rnd(w, len)] :
		(int)rnd(w, 256);
	ret = op(w, softmem_find(holder_pool(w, k), handle_of(r, k), off, len,
				 value, &position));
	if (single_outcome(w, r, k, ret, false, "find") != RAN)
		return;
	hit = memchr(r->shadow + off, value, len);
	if (hit)
		want = hit - r->shadow;
	if (position != want) {
		lost(w, "find %#x in handle %llu/%u+%zu, %zu bytes: %lld, want %lld",
		     value, (unsigned long long)handle_of(r, k), k, off, len,
		     (long long)position, (long long)want);
		forget(w, r);
	}
}

/* Bad ranges fail with EINVAL whatever the region's state, changing nothing. */
static void do_bad_range(struct worker *w, struct owned_region *r,
			 unsigned int k)
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
	ret = op(w, softmem_read(holder_pool(w, k), handle_of(r, k), offset,
				 w->buf, length));
	if (ret != -EINVAL) {
		lost(w, "read of handle %llu/%u (%zu bytes) at %llu, %llu bytes: %s, want EINVAL",
		     (unsigned long long)handle_of(r, k), k, r->bytes,
		     (unsigned long long)offset, (unsigned long long)length,
		     err_name(ret));
		forget(w, r);
	}
}

/* Another class changes nothing a worker can see but the order of discards. */
static void do_priority(struct worker *w, struct owned_region *r,
			unsigned int k)
{
	int ret = op(w, softmem_set_priority(holder_pool(w, k), handle_of(r, k),
					     rnd(w, SOFTMEM_NR_PRIORITIES)));

	if (ret)
		lost(w, "set priority of handle %llu/%u: %s",
		     (unsigned long long)handle_of(r, k), k, err_name(ret));
}

/*
 * Pool counters, of the worker's pool or of its side pool: never negative,
 * consistent with what this worker holds there.
 */
static void do_stats(struct worker *w)
{
	unsigned int k = rnd(w, HOLDERS), i;
	uint64_t regions = k ? 0 : NR_SHARED, length = 0;
	struct softmem_stats st;
	const char *name;
	int64_t value;
	int ret;

	for (i = 0; i < OWN_REGIONS; i++) {
		if (w->own[i].h[k].handle) {
			regions++;
			length += w->own[i].bytes;
		}
	}
	for (i = 0; !k && i < NR_SHARED; i++)
		length += w->shared[i].bytes;
	ret = op(w, pool_stats(holder_pool(w, k), &st));
	if (ret) {
		lost(w, "pool %u stats: %s", k, err_name(ret));
		return;
	}
	name = stats_negative(&st, &value);
	if (name)
		lost(w, "pool %u counter %s is negative: %lld", k, name,
		     (long long)value);
	if (st.regions < regions || st.length_bytes < length)
		lost(w, "pool %u has %llu regions, %llu bytes; this worker alone holds %llu, %llu",
		     k, (unsigned long long)st.regions,
		     (unsigned long long)st.length_bytes,
		     (unsigned long long)regions, (unsigned long long)length);
	if ((int64_t)st.discard_events < w->pool_discard_events[k] ||
	    (int64_t)st.discarded_bytes < w->pool_discarded_bytes[k])
		lost(w, "pool %u discard counters went back: %llu events, %llu bytes",
		     k, (unsigned long long)st.discard_events,
		     (unsigned long long)st.discarded_bytes);
	w->pool_discard_events[k] = st.discard_events;
	w->pool_discarded_bytes[k] = st.discarded_bytes;
}

/*
 * Gives a region with one handle a second one in the other pool: exported
 * (close-on-exec or not, as asked) and imported.  The new handle is
 * suspended, owed the loss if the region is known discarded, and otherwise
 * told of a discard exactly when the region's other handle would be.
 */
static void do_share(struct worker *w, struct owned_region *r)
{
	unsigned int from = r->h[0].handle ? 0 : 1, to = 1 - from;
	unsigned int flags = rnd(w, 2) ? SOFTMEM_EXPORT_NO_CLOEXEC : 0;
	uint64_t handle = 0, length = 0;
	int fd, fdflags, ret;

	fd = op(w, softmem_export(holder_pool(w, from), handle_of(r, from),
				  flags));
	if (fd == -ENOMEM || fd == -EMFILE || fd == -ENFILE) {
		w->count->enomem++;
		return;
	}
	if (fd < 0) {
		lost(w, "export of %s handle %llu/%u: %s",
		     state_name(r->h[from].state),
		     (unsigned long long)handle_of(r, from), from, err_name(fd));
		forget(w, r);
		return;
	}
	w->count->exports++;
	fdflags = fcntl(fd, F_GETFD);
	if (fdflags < 0 || !(fdflags & FD_CLOEXEC) != !!flags)
		lost(w, "export with flags %#x: descriptor flags %#x", flags,
		     fdflags);
	ret = op(w, softmem_import(holder_pool(w, to), fd, &handle, &length));
	close(fd);
	if (ret == -ENOMEM) {
		w->count->enomem++;
		return;
	}
	if (ret || !handle || length != r->bytes ||
	    handle_known(w, to, handle)) {
		lost(w, "import into pool %u of a region of %zu bytes: %s, handle %llu, %llu bytes",
		     to, r->bytes, err_name(ret), (unsigned long long)handle,
		     (unsigned long long)length);
		if (!ret && handle && !handle_known(w, to, handle))
			softmem_free(holder_pool(w, to), handle);
		return;
	}
	w->count->imports++;
	r->h[to].handle = handle;
	r->h[to].state = r->gone ? MODEL_DISCARDED : MODEL_SUSPENDED;
	r->h[to].via_other = r->gone;
	r->h[to].maybe = false;
}

/* Maps a random page range of @r through handle @k, or unmaps it. */
static void do_map(struct worker *w, struct owned_region *r, unsigned int k)
{
	size_t pages = r->bytes / w->page, first, count;
	void *addr = NULL;
	int ret;

	if (r->map) {
		unmap_region(r);
		return;
	}
	first = rnd(w, pages);
	count = 1 + rnd(w, pages - first);
	ret = op(w, softmem_map(holder_pool(w, k), handle_of(r, k),
				first * w->page, count * w->page,
				PROT_READ | PROT_WRITE, &addr));
	if (ret == -ENOMEM || ret == -EMFILE || ret == -ENFILE) {
		w->count->enomem++;
		return;
	}
	if (ret) {
		lost(w, "map of pages %zu+%zu of %s handle %llu/%u: %s", first,
		     count, state_name(r->h[k].state),
		     (unsigned long long)handle_of(r, k), k, err_name(ret));
		forget(w, r);
		return;
	}
	w->count->maps++;
	r->map = addr;
	r->map_off = first * w->page;
	r->map_len = count * w->page;
}

/*
 * Reads @len bytes of a mapping at @at into w->buf, or writes them from
 * @src, all in one page: 0, or the signal raised, which then stopped the
 * copy at its first touch of the page, before anything was copied.
 */
static int touch_chunk(struct worker *w, uint8_t *at, size_t len,
		       const uint8_t *src, struct map_fault *fault)
{
	op(w, 0);
	w->count->touches++;
	if (src)
		return map_copy(at, src, len, fault);
	return map_copy(w->buf, at, len, fault);
}

/*
 * A random range of the mapping of a region that handle @k holds resumed,
 * read and checked or written, a page at a time.  Nothing can discard the
 * region: a page it had never raises SIGBUS.  A page never written may,
 * if it cannot be allocated; then the same bytes written by ioctl must fail
 * with ENOMEM, or allocate the page and make the touch work.
 */
static void map_touch_resumed(struct worker *w, struct owned_region *r,
			      unsigned int k, bool write)
{
	size_t off = r->map_off + rnd(w, r->map_len), len, pos, end;
	struct map_fault fault;
	bool retried;
	int sig, ret;

	len = rnd_len(w, r->map_off + r->map_len - off);
	if (write)
		rnd_fill(w, w->want, len);
	w->count->touches_resumed++;
	for (pos = off; pos < off + len; pos = end) {
		uint8_t *at = r->map + (pos - r->map_off);
		const uint8_t *src = write ? w->want + (pos - off) : NULL;
		size_t page = pos / w->page;

		end = (page + 1) * w->page;
		if (end > off + len)
			end = off + len;
		retried = false;
again:
		sig = touch_chunk(w, at, end - pos, src, &fault);
		if (!sig) {
			if (write) {
				memcpy(r->shadow + pos, src, end - pos);
			} else if (memcmp(w->buf, r->shadow + pos, end - pos)) {
				lost(w, "read through the mapping of resumed handle %llu/%u: [%zu, %zu) differs",
				     (unsigned long long)handle_of(r, k), k,
				     pos, end);
				forget(w, r);
				return;
			}
			mark_paged(w, r, pos, end - pos);
			continue;
		}
		if (sig != SIGBUS || retried || r->paged & 1ULL << page ||
		    (uint8_t *)fault.addr < at ||
		    (uint8_t *)fault.addr >= at + (end - pos)) {
			lost(w, "%s through the mapping of resumed handle %llu/%u at %zu: signal %d at %+td%s%s",
			     write ? "write" : "read",
			     (unsigned long long)handle_of(r, k), k, pos, sig,
			     (uint8_t *)fault.addr - at,
			     r->paged & 1ULL << page ? ", page allocated" : "",
			     retried ? ", once the ioctl allocated it" : "");
			forget(w, r);
			return;
		}
		ret = op(w, softmem_write(holder_pool(w, k), handle_of(r, k), pos,
					  src ? src : r->shadow + pos,
					  end - pos));
		if (ret == -ENOMEM) {
			w->count->enomem++;
			return;
		}
		if (ret) {
			lost(w, "write of resumed handle %llu/%u after SIGBUS: %s",
			     (unsigned long long)handle_of(r, k), k,
			     err_name(ret));
			forget(w, r);
			return;
		}
		if (write)
			memcpy(r->shadow + pos, src, end - pos);
		mark_paged(w, r, pos, end - pos);
		retried = true;
		goto again;
	}
}

/*
 * One aligned 8-byte load or store through the mapping of a region nobody
 * holds resumed: reclaim may discard it under the touch.  A load that works
 * reads what the region holds; a store that works lands in it.  SIGBUS on a
 * page the region had means it was discarded: every holder is owed the
 * loss.  On a page never written it may also mean that no page could be
 * had, and says nothing.  A region known discarded must raise SIGBUS, once
 * its discard has unmapped it (an ESTALE may come just before that).
 */
static void map_touch_idle(struct worker *w, struct owned_region *r,
			   bool write)
{
	size_t pos = r->map_off + rnd(w, r->map_len / 8) * 8;
	uint64_t *at = (uint64_t *)(r->map + (pos - r->map_off));
	uint64_t bit = 1ULL << (pos / w->page), value, want;
	struct map_fault fault;
	unsigned int waited = 0;
	int sig;

	value = test_rand(&w->rng);
	write = write && !r->gone;
	op(w, 0);
	w->count->touches++;
	sig = map_access64(at, &value, write, &fault);
	if (r->gone) {
		for (; !sig && waited < ZAP_WAIT_US; waited += 1000) {
			usleep(1000);
			sig = map_access64(at, &value, false, &fault);
		}
		if (waited)
			w->count->zap_waits++;
		if (sig == SIGBUS && fault.addr == (void *)at) {
			w->count->sigbus++;
			return;
		}
		lost(w, "load through the mapping of discarded handles %llu/%llu at %zu: signal %d after %u ms",
		     (unsigned long long)handle_of(r, 0),
		     (unsigned long long)handle_of(r, 1), pos, sig,
		     waited / 1000);
		forget(w, r);
		return;
	}
	if (!sig) {
		memcpy(&want, r->shadow + pos, 8);
		if (write) {
			memcpy(r->shadow + pos, &value, 8);
		} else if (value != want) {
			lost(w, "load through the mapping of suspended handles %llu/%llu at %zu: %#llx, want %#llx",
			     (unsigned long long)handle_of(r, 0),
			     (unsigned long long)handle_of(r, 1), pos,
			     (unsigned long long)value,
			     (unsigned long long)want);
			forget(w, r);
			return;
		}
		r->paged |= bit;
		return;
	}
	if (sig != SIGBUS || fault.addr != (void *)at) {
		lost(w, "%s through the mapping at %zu: signal %d at %p, not %p",
		     write ? "store" : "load", pos, sig, fault.addr,
		     (void *)at);
		forget(w, r);
		return;
	}
	w->count->sigbus++;
	if (r->paged & bit)
		region_lost(w, r, HOLDERS);
}

/*
 * A mapping operation: map the region, or else touch it; now and then,
 * unmap it or drop this process's page table entries first (the region
 * keeps its pages).  Both flush the other thread's TLB, which is slow
 * under emulation: rarely.
 */
static void do_mapping(struct worker *w, struct owned_region *r,
		       unsigned int k)
{
	bool write = rnd(w, 2);
	unsigned int holder;

	if (!r->map || !rnd(w, 64)) {
		do_map(w, r, k);
		return;
	}
	if (!rnd(w, 64) && madvise(r->map, r->map_len, MADV_DONTNEED))
		lost(w, "madvise(MADV_DONTNEED) of a mapping: %s",
		     strerror(errno));
	holder = resumed_holder(r);
	if (holder < HOLDERS)
		map_touch_resumed(w, r, holder, write);
	else
		map_touch_idle(w, r, write);
}

/* Expected content of a shared region, [off, off + len). */
static void shared_want(struct worker *w, struct shared_region *s, size_t off,
			size_t len)
{
	if (s->zero && !s->cross)
		memset(w->want, 0, len);
	else
		pattern_fill(w->want, len, off, s->seed);
}

/*
 * Whether @buf is what [off, off + len) of a shared region may hold: the
 * pattern, or zeros once lost; for the cross one, each byte zero or the
 * pattern's, as another process may have restored it.
 */
static bool shared_matches(struct worker *w, struct shared_region *s,
			   const uint8_t *buf, size_t off, size_t len)
{
	size_t i;

	shared_want(w, s, off, len);
	if (!s->zero || !s->cross)
		return !memcmp(buf, w->want, len);
	for (i = 0; i < len; i++)
		if (buf[i] && buf[i] != w->want[i])
			return false;
	return true;
}

/*
 * Under the read lock, one aligned load through the mapping of a shared
 * region of this process: nobody can resume it meanwhile, so the load
 * reads what the region holds, or raises SIGBUS if the region may be
 * discarded, or lacks the page (lost, not restored) and gets none.
 */
static void shared_map_load(struct worker *w, struct shared_region *s)
{
	size_t pos = rnd(w, s->bytes / 8) * 8;
	uint64_t *at = (uint64_t *)(s->map + pos);
	struct map_fault fault;
	uint64_t value = 0;
	int sig;

	op(w, 0);
	w->count->touches++;
	sig = map_access64(at, &value, false, &fault);
	if (!sig) {
		if (!shared_matches(w, s, (uint8_t *)&value, pos, 8))
			lost(w, "shared region %llu: load at %zu through the mapping: %#llx",
			     (unsigned long long)s->handle, pos,
			     (unsigned long long)value);
		return;
	}
	if (sig == SIGBUS && fault.addr == (void *)at &&
	    (atomic_load(&s->suspended) || s->zero)) {
		w->count->sigbus++;
		return;
	}
	lost(w, "shared region %llu, %s: load at %zu through the mapping: signal %d",
	     (unsigned long long)s->handle,
	     atomic_load(&s->suspended) ? "suspended" : "resumed", pos, sig);
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
	/* The cross one: other processes may resume it and zero the map. */
	if (!s->cross && !rnd(w, 4)) {
		shared_map_load(w, s);
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
	if (!shared_matches(w, s, w->buf, off, len))
		lost(w, "shared region %llu changed in [%zu, %zu)",
		     (unsigned long long)s->handle, off, off + len);
}

/*
 * Under the write lock, with the region resumed: its whole mapping read and
 * checked (@write false), or the pattern written through it, a page at a
 * time.  A page the region holds never raises SIGBUS; a lost region's page
 * may, if none can be had: then the ioctl must fail with ENOMEM too, or
 * allocate it and make the touch work.  True if it all worked.
 */
static bool shared_map_pass(struct worker *w, struct shared_region *s,
			    bool write)
{
	struct map_fault fault;
	bool retried;
	size_t pos;
	int sig, ret;

	pattern_fill(w->want, s->bytes, 0, s->seed);
	for (pos = 0; pos < s->bytes; pos += w->page) {
		const uint8_t *src = write ? w->want + pos : NULL;

		retried = false;
again:
		sig = touch_chunk(w, s->map + pos, w->page, src, &fault);
		if (!sig) {
			if (!write && memcmp(w->buf, w->want + pos, w->page)) {
				lost(w, "shared region %llu: page at %zu differs through the mapping",
				     (unsigned long long)s->handle, pos);
				return false;
			}
			continue;
		}
		if (sig != SIGBUS || retried || !s->zero) {
			lost(w, "shared region %llu, resumed: %s at %zu through the mapping: signal %d%s",
			     (unsigned long long)s->handle,
			     write ? "write" : "read", pos, sig,
			     retried ? ", once the ioctl allocated it" : "");
			return false;
		}
		ret = op(w, softmem_write(w->pool, s->handle, pos,
					  w->want + pos, w->page));
		if (ret == -ENOMEM) {
			w->count->enomem++;
			return false;
		}
		if (ret) {
			lost(w, "shared region %llu: write after SIGBUS: %s",
			     (unsigned long long)s->handle, err_name(ret));
			return false;
		}
		retried = true;
		goto again;
	}
	return true;
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
		if (s->cross)
			w->count->cross_losses++;
	}
	ret = op(w, softmem_read(w->pool, s->handle, 0, w->buf, s->bytes));
	if (ret || !shared_matches(w, s, w->buf, 0, s->bytes)) {
		lost(w, "shared region %llu after %s resume: %s, %s",
		     (unsigned long long)s->handle,
		     discarded ? "discarded" : "intact", err_name(ret),
		     ret ? "" : "content differs");
		return;
	}
	if (!s->zero) {
		/* Held resumed, and every page written: no SIGBUS. */
		if (!rnd(w, 4))
			shared_map_pass(w, s, false);
		return;
	}
	if (rnd(w, 2)) {
		if (shared_map_pass(w, s, true))
			s->zero = false;
		return;
	}
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
	struct shared_region *s = &w->shared[rnd(w, NR_SHARED)];

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

/*
 * Sharing and mapping: w->new_ops per mille of the steps.  Only the regions
 * of the first MAPPED_SLOTS slots are mapped: each region freed unmaps its
 * mapping, and the TLB flush that takes is slow under emulation.
 */
static void step_new(struct worker *w, struct owned_region *r)
{
	struct owned_region *m = &w->own[rnd(w, MAPPED_SLOTS)];

	if (!rnd(w, 5) && !(r->h[0].handle && r->h[1].handle))
		do_share(w, r);
	else if (region_live(m))
		do_mapping(w, m, pick_holder(w, m));
	else
		do_alloc(w);
}

static void step(struct worker *w)
{
	struct owned_region *r = pick_live(w), *other;
	unsigned int choice = rnd(w, 100), k;

	if (!r || choice < 3) {
		do_alloc(w);
		return;
	}
	if (rnd(w, 1000) < w->new_ops) {
		step_new(w, r);
		return;
	}
	k = pick_holder(w, r);
	other = pick_live_in(w, k);
	if (choice < 19)
		do_read(w, r, k);
	else if (choice < 31)
		do_write(w, r, k);
	else if (choice < 36)
		do_set(w, r, k);
	else if (choice < 41)
		do_copy(w, r, other, k, false);
	else if (choice < 46)
		do_copy(w, r, other, k, true);
	else if (choice < 50)
		do_compare(w, r, other, k);
	else if (choice < 52)
		do_compare_buf(w, r, k);
	else if (choice < 58)
		do_find(w, r, k);
	else if (choice < 73)
		do_suspend(w, r, k);
	else if (choice < 86)
		do_resume(w, r, k);
	else if (choice < 87)
		do_free(w, r, k);
	else if (choice < 88)
		do_priority(w, r, k);
	else if (choice < 90)
		do_stats(w);
	else if (choice < 91)
		do_bad_range(w, r, k);
	else
		do_shared(w);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint64_t next_rotate = CGROUP_ROTATE_OPS;
	unsigned int i, k;

	while (w->count->ops < w->quota) {
		step(w);
		if (w->rotate_cgroup && w->count->ops >= next_rotate) {
			rotate_cgroup(w);
			next_rotate += CGROUP_ROTATE_OPS;
		}
	}
	for (i = 0; i < OWN_REGIONS; i++)
		for (k = 0; k < HOLDERS; k++)
			if (w->own[i].h[k].handle)
				do_free(w, &w->own[i], k);
	return NULL;
}

static bool worker_init(struct worker *w, unsigned int id, int pool, int side,
			uint64_t seed, uint64_t quota, bool debug,
			struct stress_shm *shm, struct shared_region *shared)
{
	unsigned int i;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->pool = pool;
	w->side = side;
	w->rng = seed ^ (0x9e3779b97f4a7c15ULL * (id + 1));
	w->quota = quota;
	w->new_ops = debug ? NEW_OPS_DEBUG : NEW_OPS_STOCK;
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

/*
 * Pool counters once everything but the shared regions is freed.  The pages
 * of a region the pool no longer counts may stay resident a moment: the
 * reclaimer's discard of a mapped region holds it until its mappings are
 * zapped, and a region written again since goes with its pages when that
 * reference does.  Waits up to 10 s for them.
 */
static void check_pool_empty(struct worker *w, int pool, uint64_t want_regions,
			     const char *when)
{
	struct softmem_stats st;
	uint64_t lingering = 0;
	int ret, waits = 0;

	for (;;) {
		ret = op(w, pool_stats(pool, &st));
		if (ret || want_regions || st.regions || st.length_bytes ||
		    !st.resident_bytes || waits == 1000)
			break;
		if (!waits++)
			lingering = st.resident_bytes;
		usleep(10 * 1000);
	}
	if (waits)
		say("# stress: worker %u: pool %s: %llu resident bytes of freed regions lingered, %llu after %d ms",
		    w->id, when, (unsigned long long)lingering,
		    (unsigned long long)st.resident_bytes, waits * 10);
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
 * The cross region in this process: imported into @pool from the inherited
 * descriptor @fd (closed here) and mapped.  Suspended, as every import is.
 */
static bool cross_import(struct shared_region *s, int pool, int fd,
			 size_t bytes)
{
	uint64_t length = 0;
	void *map;

	s->cross = true;
	s->seed = CROSS_SEED;
	s->bytes = bytes;
	atomic_store(&s->suspended, true);
	if (softmem_import(pool, fd, &s->handle, &length) || length != bytes)
		return false;
	map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return false;
	s->map = map;
	return true;
}

/*
 * The worker processes start once each holds the cross region: a loss no
 * holder has acted on yet is then reported to every one of them.
 */
static void cross_barrier(struct stress_shm *shm)
{
	unsigned int waited;

	atomic_fetch_add(&shm->imported, 1);
	for (waited = 0; waited < IMPORT_WAIT_US; waited += 1000) {
		if (atomic_load(&shm->imported) >= STRESS_PROCS)
			return;
		usleep(1000);
	}
	say("# stress: not every worker process imported the cross region");
}

/*
 * One worker process: a pool, a side pool, its shared regions, the cross
 * one, and STRESS_THREADS worker threads; the first thread's worker also
 * reports the pool-level checks.
 */
static void __attribute__((noreturn))
worker_process(unsigned int proc, uint64_t seed, uint64_t quota, bool debug,
	       struct stress_shm *shm, bool in_cgroup, int cross_fd,
	       size_t cross_bytes)
{
	static struct shared_region shared[NR_SHARED];
	static struct worker w[STRESS_THREADS];
	pthread_t thread[STRESS_THREADS];
	size_t bytes = 4 * page_size();
	unsigned int i;
	int pool, side, ret;

	if (in_cgroup && write_file(STRESS_CGROUP "/w0/cgroup.procs", "0")) {
		say("# stress: cannot join %s/w0", STRESS_CGROUP);
		in_cgroup = false;
	}
	pool = softmem_open();
	side = softmem_open();
	if (pool < 0 || side < 0 || map_fault_catch() ||
	    softmem_set_policy(proc % 2 ? pool : side, SOFTMEM_POLICY_FIFO) ||
	    softmem_lockfree(proc < 2 ? pool : side, LOCKFREE_HANDLES))
		_exit(10);
	for (i = 0; i < STRESS_THREADS; i++)
		if (!worker_init(&w[i], proc * STRESS_THREADS + i, pool, side,
				 seed, quota, debug, shm, shared))
			_exit(11);
	w[0].rotate_cgroup = in_cgroup;

	for (i = 0; i < NR_SHARED; i++) {
		struct shared_region *s = &shared[i];
		void *map = NULL;

		pthread_rwlock_init(&s->lock, NULL);
		if (i == CROSS) {
			if (!cross_import(s, pool, cross_fd, cross_bytes))
				_exit(12);
			continue;
		}
		s->bytes = bytes;
		s->seed = 1000 + proc * SHARED_REGIONS + i;
		ret = op(&w[0], region_alloc_filled(pool, bytes, s->seed,
						    &s->handle));
		ret = ret ?: op(&w[0], softmem_map(pool, s->handle, 0, bytes,
						   PROT_READ | PROT_WRITE,
						   &map));
		if (ret)
			_exit(12);
		s->map = map;
	}
	cross_barrier(shm);
	for (i = 0; i < STRESS_THREADS; i++)
		if (pthread_create(&thread[i], NULL, worker_run, &w[i]))
			_exit(13);
	for (i = 0; i < STRESS_THREADS; i++)
		pthread_join(thread[i], NULL);

	check_pool_empty(&w[0], pool, NR_SHARED, "with the shared regions");
	check_pool_empty(&w[0], side, 0, "side, after the last free");
	for (i = 0; i < NR_SHARED; i++) {
		ret = op(&w[0], softmem_free(pool, shared[i].handle));
		if (ret)
			lost(&w[0], "free of shared region: %s", err_name(ret));
		munmap(shared[i].map, shared[i].bytes);
	}
	check_pool_empty(&w[0], pool, 0, "after the last free");
	softmem_close(side);
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

/*
 * The region every worker process holds: allocated and filled by a pool
 * that is closed at once, so that only the exported descriptor, inherited
 * by the workers, keeps it (still charged to that pool).  Nobody holds it
 * resumed: it may be discarded before any worker imports it.
 */
static int cross_region(size_t bytes)
{
	int pool = softmem_open(), fd = -1, ret;
	uint64_t handle;

	if (pool < 0)
		return pool;
	ret = region_alloc_filled(pool, bytes, CROSS_SEED, &handle);
	if (!ret) {
		fd = softmem_export(pool, handle, SOFTMEM_EXPORT_NO_CLOEXEC);
		ret = fd < 0 ? fd : 0;
	}
	softmem_close(pool);
	return ret ?: fd;
}

/*
 * The bound only catches a hang: a million operations on the debug kernel
 * take 4 minutes on a quiet 2-core host and over 15 on a host running
 * seven guests at once (one such run hit the former 900 s).
 */
TEST_F_TIMEOUT(stress, random_operations_keep_every_invariant, 2400)
{
	uint64_t seed = env_u64("SOFTMEM_STRESS_SEED", STRESS_SEED);
	bool debug = debug_kernel();
	uint64_t total = env_u64("SOFTMEM_STRESS_OPS", debug ?
				 STRESS_OPS_DEBUG : STRESS_OPS_STOCK);
	uint64_t quota = (total + STRESS_WORKERS - 1) / STRESS_WORKERS;
	struct stress_shm *shm = self->shm;
	uint64_t ops = 0, nr_lost = 0, discards = 0, enomem = 0;
	struct stress_count sum = { 0 };
	int64_t before_events = 0, after_events = 0;
	pid_t worker[STRESS_PROCS], helper[2];
	struct worker check = { .id = STRESS_WORKERS };
	size_t cross_bytes = 3 * page_size();
	uint64_t floor, v = 0;
	double start = now_seconds();
	unsigned int i;
	int cross_fd;

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
	cross_fd = cross_region(cross_bytes);
	ASSERT_LE(0, cross_fd) TH_LOG("cross region: %s", err_name(cross_fd));
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
			worker_process(i, seed, quota, debug, shm,
				       self->cgroup && !i, cross_fd,
				       cross_bytes);
		}
	}
	/* The workers hold the cross region now, or will have. */
	close(cross_fd);
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

	/*
	 * Everything is freed: the module holds nothing any more (a region
	 * whose pages a discard is still freeing goes a moment later).
	 */
	check.count = &shm->reclaim;
	for (i = 0; i < 4; i++) {
		if (!module_stat_reach(module_counters[i], 0, &v)) {
			lost(&check, "module counter %s is %lld after the run",
			     module_counters[i], (long long)v);
		}
	}
	module_counter("discard_events", &after_events);

	for (i = 0; i < STRESS_WORKERS; i++) {
		const struct stress_count *c = &shm->worker[i];

		ops += c->ops;
		nr_lost += c->lost;
		discards += c->discards;
		enomem += c->enomem;
		sum.exports += c->exports;
		sum.imports += c->imports;
		sum.maps += c->maps;
		sum.touches += c->touches;
		sum.touches_resumed += c->touches_resumed;
		sum.sigbus += c->sigbus;
		sum.told_twice += c->told_twice;
		sum.cross_losses += c->cross_losses;
		sum.zap_waits += c->zap_waits;
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
	say("# stress: shared and mapped: %llu exports, %llu imports, %llu losses told to a second holder, %llu of the cross-process region; %llu mappings, %llu touches (%llu ranges of resumed regions), %llu SIGBUS, %llu waits for an unmap",
	    (unsigned long long)sum.exports, (unsigned long long)sum.imports,
	    (unsigned long long)sum.told_twice,
	    (unsigned long long)sum.cross_losses,
	    (unsigned long long)sum.maps, (unsigned long long)sum.touches,
	    (unsigned long long)sum.touches_resumed,
	    (unsigned long long)sum.sigbus,
	    (unsigned long long)sum.zap_waits);
	say("# stress: %llu operations, %llu lost", (unsigned long long)ops,
	    (unsigned long long)nr_lost);
	EXPECT_EQ(0, nr_lost);
	EXPECT_LE(total, ops);
	/* Reclaim did discard regions under the workers, or nothing was tested. */
	EXPECT_LT(0, discards);
	/* And regions were shared and mapped. */
	EXPECT_LT(0, sum.imports);
	EXPECT_LT(0, sum.touches_resumed);
}

TEST_HARNESS_MAIN
