/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsoftmem internals: the state words of pools set up with
 * softmem_lockfree(), for suspend and resume without a system call.
 */
#ifndef SOFTMEM_WORDS_H
#define SOFTMEM_WORDS_H

#include <stdbool.h>
#include <stdint.h>

/* What a fast path returns when only the kernel can answer. */
#define SOFTMEM_WORDS_ASK_KERNEL	1

int softmem_words_add(int pool, uint64_t *words, uint32_t nr);
void softmem_words_remove(int pool);
int softmem_words_suspend(int pool, uint64_t handle);
int softmem_words_resume(int pool, uint64_t handle, bool *discarded);

#endif /* SOFTMEM_WORDS_H */
