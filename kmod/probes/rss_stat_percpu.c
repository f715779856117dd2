// SPDX-License-Identifier: GPL-2.0
/* mm_struct.rss_stat as an array of percpu_counter: 6.2 */
#include <linux/mm_types.h>
#include <linux/percpu_counter.h>

void probe(struct mm_struct *mm)
{
	percpu_counter_add(&mm->rss_stat[MM_SHMEMPAGES], 1);
}
