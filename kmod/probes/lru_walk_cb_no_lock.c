// SPDX-License-Identifier: GPL-2.0
/* list_lru_walk_cb without the spinlock_t * argument: 6.13 */
#include <linux/list_lru.h>

static enum lru_status probe_cb(struct list_head *item,
				struct list_lru_one *list, void *arg)
{
	return LRU_SKIP;
}

list_lru_walk_cb probe = probe_cb;
