// SPDX-License-Identifier: GPL-2.0
/* list_lru_add_obj(), and list_lru_add() with node and memcg: 6.8 */
#include <linux/list_lru.h>

bool probe(struct list_lru *lru, struct list_head *item)
{
	return list_lru_add_obj(lru, item) && list_lru_add(lru, item, 0, NULL);
}
