// SPDX-License-Identifier: GPL-2.0
/*
 * State words: suspend and resume without a system call.
 *
 * A pool configured with SOFTMEM_CONFIGURE_WORDS has an array of 64-bit
 * words, one per handle number, that user space maps from the pool's file
 * and changes with compare-and-exchange (SOFTMEM_WORD_* in the uAPI header).
 * Such a handle is "lock-free": whether it holds its region resumed lives in
 * its word, not in the region's count of resumed holders, so the region
 * stays suspended as far as the rest of the module is concerned (on the
 * reclaim lists once it has pages) and reclaim asks the words before each
 * discard: softmem_words_claim() sets SOFTMEM_WORD_DISCARDED in every word
 * of the region with compare-and-exchange where SOFTMEM_WORD_RESUMED is
 * clear, or takes back what it set if one is resumed.  Either user space's
 * resume or the kernel's claim wins a word; the loser sees the winner's bit.
 *
 * Nothing the module does for memory safety depends on a word: data
 * operations and faults pin the region (softmem_region.users), mappings are
 * zapped before pages are freed, and what a holder was told stays in its
 * handle's private word (handle.c).  A word only says whether user space
 * wants its region kept, so a process that scribbles on its words can lose
 * its own data and nothing else.  The kernel never loops on a word that
 * user space may keep changing: each claim is one compare-and-exchange.
 */
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>

#include "compat.h"
#include "softmem.h"

#define SOFTMEM_WORDS_PER_PAGE	(PAGE_SIZE / sizeof(u64))

/* Whether a pool may have @nr state words: handle 0 is never used. */
bool softmem_words_valid(u32 nr)
{
	return nr >= 2 && nr <= SOFTMEM_MAX_WORDS &&
	       nr - 1 <= softmem_pool_max_regions();
}

/*
 * Gives @pool @nr state words, all free; only before the pool's first
 * handle.  Handle numbers stay below @nr from then on.  The caller has
 * checked @nr with softmem_words_valid().
 */
int softmem_words_configure(struct softmem_pool *pool, u32 nr)
{
	unsigned long i;
	u64 *words;
	int ret = 0;

	words = __vmalloc(array_size(nr, sizeof(u64)),
			  SOFTMEM_GFP_KERNEL | __GFP_ZERO);
	if (!words)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		words[i] = SOFTMEM_WORD_FREE;

	/*
	 * Handle numbers are allocated under the index's lock: one allocated
	 * before this reads the old limit, and makes the pool not empty.
	 */
	xa_lock(&pool->regions);
	if (pool->words || !xa_empty(&pool->regions)) {
		ret = -EBUSY;
	} else {
		WRITE_ONCE(pool->id_max, nr - 1);
		pool->nr_words = nr;
		/* Pairs with the acquire in softmem_words_of(). */
		smp_store_release(&pool->words, words);
	}
	xa_unlock(&pool->regions);
	if (ret)
		vfree(words);
	return ret;
}

/* The pool's words, or NULL; set once, before its first handle. */
static u64 *softmem_words_of(struct softmem_pool *pool)
{
	/* Pairs with the release in softmem_words_configure(). */
	return smp_load_acquire(&pool->words);
}

/* On the pool's last reference: no handle and no mapping is left. */
void softmem_words_free(struct softmem_pool *pool)
{
	vfree(pool->words);
}

/* The word of handle number @id of @pool, or NULL if it has none. */
u64 *softmem_words_slot(struct softmem_pool *pool, u32 id)
{
	u64 *words = softmem_words_of(pool);

	if (!words || id >= pool->nr_words)
		return NULL;
	return &words[id];
}

/*
 * Tries to claim the words of @region's lock-free handles for a discard:
 * sets SOFTMEM_WORD_DISCARDED in each, unless one holds the region resumed
 * or, with @clock, was referenced since reclaim last looked (its bit is
 * cleared then: a second chance).  Returns 0 if every word is claimed (or
 * the region has none), -EBUSY after taking back what it claimed.  The
 * caller holds the region's lock and discards the region at once on
 * success.
 */
int softmem_words_claim(struct softmem_region *region, bool clock)
{
	struct softmem_handle *handle, *undo;
	u64 old;

	lockdep_assert_held(&region->lock);
	list_for_each_entry(handle, &region->word_handles, word_link) {
		old = READ_ONCE(*handle->shared);
		if (old & SOFTMEM_WORD_RESUMED)
			goto busy;
		if (clock && old & SOFTMEM_WORD_REFERENCED) {
			/* Lost to a concurrent change: looked at next time. */
			cmpxchg(handle->shared, old,
				old & ~SOFTMEM_WORD_REFERENCED);
			goto busy;
		}
		if (cmpxchg(handle->shared, old,
			    old | SOFTMEM_WORD_DISCARDED) != old)
			goto busy;
	}
	return 0;

busy:
	/*
	 * A holder's resume that found the bit meanwhile is waiting for the
	 * region's lock, and learns from the handle that nothing was lost.
	 * The bit of a holder not yet told of an earlier discard stays.
	 */
	list_for_each_entry(undo, &region->word_handles, word_link) {
		if (undo == handle)
			break;
		old = READ_ONCE(*undo->shared);
		if (old & SOFTMEM_WORD_DISCARDED && !softmem_handle_stale(undo))
			cmpxchg(undo->shared, old,
				old & ~SOFTMEM_WORD_DISCARDED);
	}
	return -EBUSY;
}

/*
 * Maps the page of words at vmf->pgoff.  The pages are the pool's for its
 * life, which a mapping extends: it holds the pool's file.
 */
static vm_fault_t softmem_words_fault(struct vm_fault *vmf)
{
	struct softmem_pool *pool = vmf->vma->vm_file->private_data;
	u64 *words = softmem_words_of(pool);

	if (!words || vmf->pgoff >=
	    DIV_ROUND_UP(pool->nr_words, SOFTMEM_WORDS_PER_PAGE))
		return VM_FAULT_SIGBUS;
	return vmf_insert_page(vmf->vma, vmf->address,
			       vmalloc_to_page(words + vmf->pgoff *
					       SOFTMEM_WORDS_PER_PAGE));
}

static const struct vm_operations_struct softmem_words_vm_ops = {
	.fault	= softmem_words_fault,
};

/* Whether pages [@pgoff, @pgoff + @pages) hold @pool's words. */
static bool softmem_words_fit(struct softmem_pool *pool, unsigned long pgoff,
			      unsigned long pages)
{
	unsigned long all;

	if (!softmem_words_of(pool))
		return false;
	all = DIV_ROUND_UP(pool->nr_words, SOFTMEM_WORDS_PER_PAGE);
	return pgoff < all && pages <= all - pgoff;
}

/*
 * mmap() of a pool's file: its words, shared mappings only (a private copy
 * would tell the kernel nothing), within the words.
 */
#ifdef SOFTMEM_HAVE_MMAP_PREPARE_FLAGS
int softmem_words_mmap_prepare(struct vm_area_desc *desc)
{
	if (!vma_desc_test_all(desc, VMA_MAYSHARE_BIT) ||
	    !softmem_words_fit(desc->file->private_data, desc->pgoff,
			       vma_desc_pages(desc)))
		return -EINVAL;
	vma_desc_set_flags(desc, VMA_MIXEDMAP_BIT, VMA_DONTEXPAND_BIT);
	desc->vm_ops = &softmem_words_vm_ops;
	return 0;
}
#else
int softmem_words_mmap(struct file *file, struct vm_area_struct *vma)
{
	if (!(vma->vm_flags & VM_MAYSHARE) ||
	    !softmem_words_fit(file->private_data, vma->vm_pgoff,
			       vma_pages(vma)))
		return -EINVAL;
	softmem_compat_vm_flags_set(vma, VM_MIXEDMAP | VM_DONTEXPAND);
	vma->vm_ops = &softmem_words_vm_ops;
	return 0;
}
#endif
