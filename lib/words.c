// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsoftmem: suspend and resume through a pool's state words.
 *
 * softmem_lockfree() maps a pool's words (SOFTMEM_WORD_* in
 * <linux/softmem.h>) and records them here, by descriptor.  From then on
 * softmem_suspend() and softmem_resume() on that descriptor change the
 * handle's word with one compare-and-exchange, and call the kernel only
 * when it has something to say: a loss to report, or a handle that does
 * not exist.
 *
 * The record is a table indexed by descriptor, read without a lock: it only
 * grows, under a mutex, into a new copy that replaces it (old copies are
 * kept, so that a reader still holding one stays safe).  A pool must not be
 * used while another thread closes it, as with any descriptor.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/softmem.h>

#include "words.h"

struct softmem_words {
	uint64_t *words;	/* NULL if the descriptor has none recorded */
	uint32_t nr;		/* written before @words is published */
};

struct softmem_words_table {
	size_t len;
	struct softmem_words entry[];
};

static struct softmem_words_table *softmem_words_table;
static pthread_mutex_t softmem_words_lock = PTHREAD_MUTEX_INITIALIZER;

/* The word of @handle in @pool, or NULL if it has none. */
static uint64_t *softmem_word(int pool, uint64_t handle)
{
	struct softmem_words_table *table;
	struct softmem_words *entry;
	uint64_t *words;

	table = __atomic_load_n(&softmem_words_table, __ATOMIC_ACQUIRE);
	if (!table || pool < 0 || (size_t)pool >= table->len)
		return NULL;
	entry = &table->entry[pool];
	words = __atomic_load_n(&entry->words, __ATOMIC_ACQUIRE);
	if (!words || handle >= __atomic_load_n(&entry->nr, __ATOMIC_RELAXED))
		return NULL;
	return &words[handle];
}

int softmem_words_add(int pool, uint64_t *words, uint32_t nr)
{
	struct softmem_words_table *table, *bigger;
	size_t len;
	int ret = 0;

	if (pool < 0)
		return -EBADF;
	pthread_mutex_lock(&softmem_words_lock);
	table = softmem_words_table;
	if (!table || (size_t)pool >= table->len) {
		len = table ? table->len : 16;
		while (len <= (size_t)pool)
			len *= 2;
		bigger = calloc(1, sizeof(*bigger) + len * sizeof(bigger->entry[0]));
		if (!bigger) {
			ret = -ENOMEM;
			goto out;
		}
		bigger->len = len;
		if (table)
			memcpy(bigger->entry, table->entry,
			       table->len * sizeof(table->entry[0]));
		/* The old copy stays: a reader may still be looking at it. */
		__atomic_store_n(&softmem_words_table, bigger, __ATOMIC_RELEASE);
		table = bigger;
	}
	__atomic_store_n(&table->entry[pool].nr, nr, __ATOMIC_RELAXED);
	__atomic_store_n(&table->entry[pool].words, words, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&softmem_words_lock);
	return ret;
}

/* Forgets and unmaps @pool's words, if it has any; before it is closed. */
void softmem_words_remove(int pool)
{
	struct softmem_words_table *table;
	uint64_t *words = NULL;
	uint32_t nr = 0;

	pthread_mutex_lock(&softmem_words_lock);
	table = softmem_words_table;
	if (table && pool >= 0 && (size_t)pool < table->len) {
		words = table->entry[pool].words;
		nr = table->entry[pool].nr;
		__atomic_store_n(&table->entry[pool].words, NULL,
				 __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&softmem_words_lock);
	if (words)
		munmap(words, (size_t)nr * sizeof(*words));
}

/*
 * Clears the handle's resumed bit.  A suspended handle stays as it is; a
 * free one is the kernel's to report (ENOENT).
 */
int softmem_words_suspend(int pool, uint64_t handle)
{
	uint64_t *word = softmem_word(pool, handle);
	uint64_t old;

	if (!word)
		return SOFTMEM_WORDS_ASK_KERNEL;
	old = __atomic_load_n(word, __ATOMIC_RELAXED);
	do {
		if (old & SOFTMEM_WORD_FREE)
			return SOFTMEM_WORDS_ASK_KERNEL;
		if (!(old & SOFTMEM_WORD_RESUMED))
			return 0;
	} while (!__atomic_compare_exchange_n(word, &old,
					      old & ~SOFTMEM_WORD_RESUMED,
					      false, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
	return 0;
}

/*
 * Sets the handle's resumed and referenced bits, unless the kernel has
 * discarded the region first (or the handle is free): then only the kernel
 * can tell, and acknowledge, the loss.
 */
int softmem_words_resume(int pool, uint64_t handle, bool *discarded)
{
	const uint64_t held = SOFTMEM_WORD_RESUMED | SOFTMEM_WORD_REFERENCED;
	uint64_t *word = softmem_word(pool, handle);
	uint64_t old;

	if (!word)
		return SOFTMEM_WORDS_ASK_KERNEL;
	old = __atomic_load_n(word, __ATOMIC_ACQUIRE);
	do {
		if (old & (SOFTMEM_WORD_DISCARDED | SOFTMEM_WORD_FREE))
			return SOFTMEM_WORDS_ASK_KERNEL;
		if ((old & held) == held)
			break;
	} while (!__atomic_compare_exchange_n(word, &old, old | held, false,
					      __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	if (discarded)
		*discarded = false;
	return 0;
}
