// SPDX-License-Identifier: GPL-2.0
/*
 * Handles: one pool's reference to a region, and what its holder was told.
 *
 * A handle's state is one 64-bit word (SOFTMEM_HANDLE_* in softmem.h):
 * whether it holds the region resumed, whether its last resume reported a
 * loss that user space has not acted on yet, and the region's discard
 * generation it has been told of.  A discard bumps the region's generation,
 * so every holder whose word is behind is told once, at its next resume;
 * until then its data operations fail with ESTALE.  The word is changed
 * only under the region's lock, with atomic stores.
 *
 * A handle of a pool with state words (words.c) also has a word shared with
 * user space, which holds whether it is resumed instead: user space flips
 * it without a system call, and the ioctls here rewrite it from what the
 * handle's own word says, so that both ways mean the same.
 */
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "softmem.h"
#include "trace.h"

static struct kmem_cache *softmem_handle_cache;

int softmem_handles_init(void)
{
	softmem_handle_cache = KMEM_CACHE(softmem_handle, SLAB_ACCOUNT);
	return softmem_handle_cache ? 0 : -ENOMEM;
}

void softmem_handles_exit(void)
{
	rcu_barrier();	/* handles still in softmem_handle_free_rcu() */
	kmem_cache_destroy(softmem_handle_cache);
}

#define SOFTMEM_HANDLE_GEN_MASK	(U64_MAX >> SOFTMEM_HANDLE_GEN_SHIFT)

static u64 softmem_word(u64 gen, u64 bits)
{
	return (gen & SOFTMEM_HANDLE_GEN_MASK) << SOFTMEM_HANDLE_GEN_SHIFT |
	       bits;
}

static u64 softmem_handle_word(struct softmem_handle *handle)
{
	lockdep_assert_held(&handle->region->lock);
	return atomic64_read(&handle->word);
}

static void softmem_handle_set_word(struct softmem_handle *handle, u64 word)
{
	lockdep_assert_held(&handle->region->lock);
	atomic64_set(&handle->word, word);
}

/* Whether the region was discarded since @word's holder was last told. */
static bool softmem_word_stale(u64 word, struct softmem_region *region)
{
	return word >> SOFTMEM_HANDLE_GEN_SHIFT !=
	       (region->gen & SOFTMEM_HANDLE_GEN_MASK);
}

/* Whether @handle's holder has a discard of its region to be told of. */
bool softmem_handle_stale(struct softmem_handle *handle)
{
	return softmem_word_stale(softmem_handle_word(handle), handle->region);
}

/*
 * Rewrites the shared word of a lock-free handle from its own: free once
 * freed, resumed and referenced if @resumed, else suspended, and discarded
 * while its holder has a loss to be told of.  Whatever user space wrote is
 * replaced but for the reference bit of a suspended handle.
 */
static void softmem_handle_share(struct softmem_handle *handle, bool resumed)
{
	u64 word = softmem_handle_word(handle);
	u64 shared;

	if (word & SOFTMEM_HANDLE_DEAD)
		shared = SOFTMEM_WORD_FREE;
	else if (softmem_word_stale(word, handle->region))
		shared = SOFTMEM_WORD_DISCARDED;
	else if (resumed)
		shared = SOFTMEM_WORD_RESUMED | SOFTMEM_WORD_REFERENCED;
	else
		shared = READ_ONCE(*handle->shared) & SOFTMEM_WORD_REFERENCED;
	WRITE_ONCE(*handle->shared, shared);
}

/*
 * Makes a handle for @region in @pool, resumed (a new region) or suspended
 * (an import), and publishes it as *@id.  The caller has charged the handle
 * to the pool; on success the handle owns the caller's region reference.
 */
int softmem_handle_create(struct softmem_pool *pool,
			  struct softmem_region *region, bool resumed,
			  u32 *id)
{
	struct softmem_handle *handle;
	u64 gen, bits;
	int ret;

	handle = kmem_cache_zalloc(softmem_handle_cache, SOFTMEM_GFP_KERNEL);
	if (!handle)
		return -ENOMEM;
	handle->region = region;
	handle->pool = pool;
	refcount_set(&handle->ref, 1);

	/*
	 * The number is reserved first (a reserved entry reads as none), so
	 * that the handle knows it, and its state word, when it is published.
	 */
	ret = xa_alloc_cyclic(&pool->regions, id, NULL,
			      XA_LIMIT(1, READ_ONCE(pool->id_max)),
			      &pool->next_handle, SOFTMEM_GFP_KERNEL);
	if (ret < 0) {
		/* A new region dies here; an imported one has other holders. */
		spin_lock(&region->lock);
		softmem_region_drop_holder(region);
		spin_unlock(&region->lock);
		kmem_cache_free(softmem_handle_cache, handle);
		return ret == -EBUSY ? -ENOSPC : ret;
	}
	handle->id = *id;
	handle->shared = softmem_words_slot(pool, *id);

	spin_lock(&region->lock);
	region->handles++;
	gen = region->gen;
	if (!resumed && region->state == SOFTMEM_REGION_DISCARDED)
		gen--;	/* a loss no holder has acted on: told at resume */
	/* A lock-free handle's resume is in its shared word only. */
	bits = resumed && !handle->shared ? SOFTMEM_HANDLE_RESUMED : 0;
	softmem_handle_set_word(handle, softmem_word(gen, bits));
	if (handle->shared) {
		list_add(&handle->word_link, &region->word_handles);
		softmem_handle_share(handle, resumed);
		if (resumed)
			softmem_region_settle(region);
	} else if (resumed) {
		softmem_region_take_resumed(region);
	}
	spin_unlock(&region->lock);

	/*
	 * Accounted in full before it is published: from then on a FREE
	 * guessing its number may drop it at once.
	 */
	softmem_pool_stat_add(pool, SOFTMEM_STAT_LENGTH_PAGES, region->nr_pages);
	if (resumed)
		trace_softmem_alloc(handle);
	else
		trace_softmem_import(handle);
	/* Into a reserved entry: needs no memory, cannot fail. */
	xa_store(&pool->regions, *id, handle, GFP_NOWAIT);
	return 0;
}

/* A new region of @pool, and its first handle, resumed, as *@id. */
int softmem_handle_alloc(struct softmem_pool *pool, u64 length, int nid,
			 unsigned int priority, bool huge, u32 *id)
{
	struct softmem_region *region;
	int ret;

	ret = softmem_pool_charge_region(pool);
	if (ret)
		return ret;
	region = softmem_region_create(pool, length, nid, priority, huge);
	if (!region) {
		softmem_stat_add(pool, SOFTMEM_STAT_REGIONS, -1);
		return -ENOMEM;
	}
	ret = softmem_handle_create(pool, region, true, id);
	if (ret) {
		/* The region is dead already; its last put uncharges it. */
		softmem_pool_stat_add(pool, SOFTMEM_STAT_REGIONS, -1);
		softmem_region_put(region);
	}
	return ret;
}

struct softmem_handle *softmem_handle_get(struct softmem_pool *pool, u64 id)
{
	struct softmem_handle *handle;

	if (!id || id > U32_MAX)
		return NULL;
	rcu_read_lock();
	handle = xa_load(&pool->regions, id);
	if (handle && !refcount_inc_not_zero(&handle->ref))
		handle = NULL;
	rcu_read_unlock();
	return handle;
}

static void softmem_handle_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(softmem_handle_cache,
			container_of(rcu, struct softmem_handle, rcu));
}

void softmem_handle_put(struct softmem_handle *handle)
{
	if (!refcount_dec_and_test(&handle->ref))
		return;
	softmem_region_put(handle->region);
	call_rcu(&handle->rcu, softmem_handle_free_rcu);
}

/*
 * Drops the index's reference of a handle already erased from it: the
 * holder lets go of the region, which the other holders keep.
 */
void softmem_handle_remove(struct softmem_handle *handle)
{
	struct softmem_region *region = handle->region;
	struct softmem_pool *pool = handle->pool;
	u64 word;

	trace_softmem_free(handle);
	spin_lock(&region->lock);
	word = softmem_handle_word(handle);
	if (word & SOFTMEM_HANDLE_RESUMED)
		softmem_region_drop_resumed(region);
	softmem_handle_set_word(handle, (word & ~(SOFTMEM_HANDLE_RESUMED |
						  SOFTMEM_HANDLE_UNREPORTED)) |
					SOFTMEM_HANDLE_DEAD);
	if (handle->shared) {
		list_del(&handle->word_link);
		softmem_handle_share(handle, false);
	}
	region->handles--;
	softmem_region_drop_holder(region);
	spin_unlock(&region->lock);
	softmem_pool_stat_add(pool, SOFTMEM_STAT_REGIONS, -1);
	softmem_pool_stat_add(pool, SOFTMEM_STAT_LENGTH_PAGES,
			      -(long)region->nr_pages);
	softmem_handle_put(handle);
}

int softmem_handle_free(struct softmem_pool *pool, u64 id)
{
	struct softmem_handle *handle;

	if (!id || id > U32_MAX)
		return -ENOENT;
	/*
	 * Only a published handle goes: the number of one still being made
	 * is reserved, reads as none, and erasing the reservation would let
	 * another handle take the number, and the index lose one of them.
	 */
	rcu_read_lock();
	handle = xa_load(&pool->regions, id);
	rcu_read_unlock();
	if (!handle || xa_cmpxchg(&pool->regions, id, handle, NULL, 0) != handle)
		return -ENOENT;
	softmem_handle_remove(handle);
	return 0;
}

int softmem_handle_suspend(struct softmem_pool *pool, u64 id)
{
	struct softmem_handle *handle = softmem_handle_get(pool, id);
	struct softmem_region *region;
	int ret = 0;
	u64 word;

	if (!handle)
		return -ENOENT;
	region = handle->region;
	spin_lock(&region->lock);
	word = softmem_handle_word(handle);
	if (word & SOFTMEM_HANDLE_DEAD) {
		ret = -ENOENT;
	} else if (handle->shared) {
		softmem_handle_set_word(handle,
					word & ~SOFTMEM_HANDLE_UNREPORTED);
		softmem_handle_share(handle, false);
		trace_softmem_suspend(handle);
	} else if (word & SOFTMEM_HANDLE_RESUMED) {
		softmem_handle_set_word(handle, word &
					~(SOFTMEM_HANDLE_RESUMED |
					  SOFTMEM_HANDLE_UNREPORTED));
		softmem_region_drop_resumed(region);
		trace_softmem_suspend(handle);
	}
	spin_unlock(&region->lock);
	softmem_handle_put(handle);
	/* More to discard: the manager may have work now. */
	if (!ret)
		softmem_manager_charged();
	return ret;
}

int softmem_handle_resume(struct softmem_pool *pool, u64 id,
			  bool *discarded)
{
	struct softmem_handle *handle = softmem_handle_get(pool, id);
	struct softmem_region *region;
	int ret = 0;
	u64 word;

	if (!handle)
		return -ENOENT;
	region = handle->region;
	*discarded = false;
	spin_lock(&region->lock);
	/*
	 * The mappings of the last discard are zapped before any holder is
	 * told the region is usable again: no write through them can follow.
	 */
	while (region->zapped_gen < region->zap_gen) {
		spin_unlock(&region->lock);
		softmem_region_zap(region);
		spin_lock(&region->lock);
	}
	word = softmem_handle_word(handle);
	if (word & SOFTMEM_HANDLE_DEAD) {
		ret = -ENOENT;
	} else if (handle->shared) {
		/* Whatever the shared word says, the handle's own tells. */
		*discarded = softmem_word_stale(word, region);
		if (*discarded)
			softmem_region_settle(region);
		trace_softmem_resume(handle, *discarded);
		word = softmem_word(region->gen, *discarded ?
				    SOFTMEM_HANDLE_UNREPORTED : 0);
		softmem_handle_set_word(handle, word);
		softmem_handle_share(handle, true);
	} else if (word & SOFTMEM_HANDLE_RESUMED) {
		/* Reported intact: a loss can no longer be taken back. */
		softmem_handle_set_word(handle,
					word & ~SOFTMEM_HANDLE_UNREPORTED);
		trace_softmem_resume(handle, false);
	} else {
		*discarded = softmem_word_stale(word, region);
		softmem_region_take_resumed(region);
		trace_softmem_resume(handle, *discarded);
		word = softmem_word(region->gen, SOFTMEM_HANDLE_RESUMED);
		if (*discarded)
			word |= SOFTMEM_HANDLE_UNREPORTED;
		softmem_handle_set_word(handle, word);
	}
	spin_unlock(&region->lock);
	softmem_handle_put(handle);
	return ret;
}

/*
 * Takes back the resume of a discarded region whose report never reached
 * user space, so that the next resume reports the loss: unless anything has
 * happened to the handle since (a data operation, a suspend, or another
 * resume, which reported it intact).  A region no other holder resumed and
 * nobody wrote meanwhile goes back to discarded.
 */
void softmem_handle_unresume(struct softmem_pool *pool, u64 id)
{
	struct softmem_handle *handle = softmem_handle_get(pool, id);
	struct softmem_region *region;
	u64 word;

	if (!handle)
		return;
	region = handle->region;
	spin_lock(&region->lock);
	word = softmem_handle_word(handle);
	if (handle->shared && word & SOFTMEM_HANDLE_UNREPORTED) {
		/*
		 * The region stays as it is: another lock-free holder may
		 * have resumed it meanwhile, which no count shows.
		 */
		softmem_handle_set_word(handle, softmem_word(region->gen - 1, 0));
		softmem_handle_share(handle, false);
	} else if ((word & (SOFTMEM_HANDLE_RESUMED |
			    SOFTMEM_HANDLE_UNREPORTED)) ==
		   (SOFTMEM_HANDLE_RESUMED | SOFTMEM_HANDLE_UNREPORTED)) {
		if (region->resumed == 1 && !region->backing &&
		    region->state == SOFTMEM_REGION_RESUMED) {
			region->resumed = 0;
			region->state = SOFTMEM_REGION_DISCARDED;
		} else {
			softmem_region_drop_resumed(region);
		}
		softmem_handle_set_word(handle, softmem_word(region->gen - 1, 0));
	}
	spin_unlock(&region->lock);
	softmem_handle_put(handle);
}

int softmem_handle_set_priority(struct softmem_pool *pool, u64 id,
				unsigned int priority)
{
	struct softmem_handle *handle = softmem_handle_get(pool, id);

	if (!handle)
		return -ENOENT;
	softmem_region_set_priority(handle->region, priority);
	softmem_handle_put(handle);
	return 0;
}

/* Whether data operations may use @handle's region: 0, -ESTALE or -ENOENT. */
static int softmem_handle_usable(struct softmem_handle *handle)
{
	u64 word = softmem_handle_word(handle);

	if (word & SOFTMEM_HANDLE_DEAD)
		return -ENOENT;
	if (softmem_word_stale(word, handle->region))
		return -ESTALE;
	return 0;
}

/*
 * Marks @handle used by a data operation: implicitly resumes it if it is
 * suspended (the region is intact for it: it is not stale), and a loss its
 * last resume reported can no longer be taken back.
 */
static void softmem_handle_use(struct softmem_handle *handle)
{
	u64 word = softmem_handle_word(handle);

	if (handle->shared) {
		softmem_handle_set_word(handle,
					word & ~SOFTMEM_HANDLE_UNREPORTED);
		softmem_handle_share(handle, true);
		return;
	}
	if (!(word & SOFTMEM_HANDLE_RESUMED))
		softmem_region_take_resumed(handle->region);
	softmem_handle_set_word(handle, (word | SOFTMEM_HANDLE_RESUMED) &
					~SOFTMEM_HANDLE_UNREPORTED);
}

/* Takes @handle's region into use, and pins it against reclaim. */
static void softmem_handle_pin(struct softmem_handle *handle)
{
	softmem_handle_use(handle);
	handle->region->users++;
}

/*
 * Takes a handle's region into use for a data operation: implicitly resumes
 * the handle if it is suspended and intact, fails with -ESTALE if its holder
 * has not been told of a discard yet.
 */
int softmem_handle_begin(struct softmem_handle *handle)
{
	struct softmem_region *region = handle->region;
	int ret;

	spin_lock(&region->lock);
	ret = softmem_handle_usable(handle);
	if (!ret)
		softmem_handle_pin(handle);
	spin_unlock(&region->lock);
	return ret;
}

/*
 * Pins a usable region against reclaim without taking it into use, for an
 * operation that must fault in a user buffer before it may change anything:
 * reclaim cannot discard the region meanwhile.  softmem_handle_begin_held()
 * or, once the operation has succeeded, softmem_handle_end_held() then takes
 * it into use, or softmem_handle_end() lets it go unchanged.
 */
int softmem_handle_hold(struct softmem_handle *handle)
{
	struct softmem_region *region = handle->region;
	int ret;

	spin_lock(&region->lock);
	ret = softmem_handle_usable(handle);
	if (!ret)
		region->users++;
	spin_unlock(&region->lock);
	return ret;
}

/*
 * Takes a handle that softmem_handle_hold() pinned the region for into use,
 * as softmem_handle_begin() would, under one lock: the region stays pinned
 * if @keep, else it is let go.  Fails, letting the region go and changing no
 * state, only if the handle was freed meanwhile.
 */
static int softmem_handle_use_held(struct softmem_handle *handle, bool keep)
{
	struct softmem_region *region = handle->region;
	int ret;

	spin_lock(&region->lock);
	ret = softmem_handle_usable(handle);
	if (!ret)
		softmem_handle_use(handle);
	if (ret || !keep)
		region->users--;
	spin_unlock(&region->lock);
	return ret;
}

/* softmem_handle_begin() for a handle softmem_handle_hold() pinned. */
int softmem_handle_begin_held(struct softmem_handle *handle)
{
	return softmem_handle_use_held(handle, true);
}

/*
 * Ends an operation that softmem_handle_hold() pinned the region for, once
 * it has succeeded: takes the handle into use and lets the region go, with
 * one lock where softmem_handle_begin_held() and softmem_handle_end() take
 * two.
 */
int softmem_handle_end_held(struct softmem_handle *handle)
{
	return softmem_handle_use_held(handle, false);
}

/* Pins both handles, or neither if one is not usable. */
static int softmem_handle_pin_pair(struct softmem_handle *a,
				   struct softmem_handle *b)
{
	int ret = softmem_handle_usable(a);

	if (!ret)
		ret = softmem_handle_usable(b);
	if (!ret) {
		softmem_handle_pin(a);
		softmem_handle_pin(b);
	}
	return ret;
}

/*
 * The same for two handles at once, of one region or two: either both are
 * taken into use or neither changes.
 */
int softmem_handle_begin_pair(struct softmem_handle *a,
			      struct softmem_handle *b)
{
	struct softmem_region *first = a->region, *second = b->region;
	int ret;

	if (a == b)
		return softmem_handle_begin(a);
	if (first > second)
		swap(first, second);

	if (first == second) {
		spin_lock(&first->lock);
		ret = softmem_handle_pin_pair(a, b);
		spin_unlock(&first->lock);
		return ret;
	}
	spin_lock(&first->lock);
	spin_lock_nested(&second->lock, SINGLE_DEPTH_NESTING);
	ret = softmem_handle_pin_pair(a, b);
	spin_unlock(&second->lock);
	spin_unlock(&first->lock);
	return ret;
}

void softmem_handle_end(struct softmem_handle *handle)
{
	softmem_region_end(handle->region);
}
