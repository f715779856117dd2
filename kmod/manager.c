// SPDX-License-Identifier: GPL-2.0
/*
 * The manager: a worker that discards suspended regions ahead of pressure
 * (Kawai's "independent memory manager thread"), off by default.
 *
 *  - Watermarks on softmem's own footprint: once the module-wide resident
 *    bytes pass manager_high_bytes, it discards suspended regions down to
 *    manager_low_bytes, and never below: a region that would take the
 *    footprint under the low mark stays.
 *  - A free-memory threshold: every manager_interval_ms it looks at the
 *    memory the system has available (MemAvailable), and when that is under
 *    manager_free_bytes it discards what is missing, so that an allocation
 *    elsewhere finds the memory free rather than stalling in direct reclaim
 *    to get it from softmem.
 *
 * Regions go least recently suspended first within each memory cgroup and
 * node, as reclaim takes them.  Off by default because the kernel's own
 * reclaim already takes what it needs and no more: the manager trades
 * cache hits for allocation latency, a choice for the administrator.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/nodemask.h>
#include <linux/workqueue.h>

#include "softmem.h"

static unsigned long manager_high_bytes;
static unsigned long manager_low_bytes;
static unsigned long manager_free_bytes;
static unsigned int manager_interval_ms = 100;

static void softmem_manager_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(softmem_manager_work, softmem_manager_work_fn);
/* Set between softmem_manager_init() and softmem_manager_exit(). */
static bool softmem_manager_running;

/* A changed parameter takes effect at once. */
static int softmem_manager_param_set(const char *val,
				     const struct kernel_param *kp)
{
	int ret = param_set_ulong(val, kp);

	if (!ret)
		softmem_manager_kick();
	return ret;
}

static const struct kernel_param_ops softmem_manager_param_ops = {
	.set = softmem_manager_param_set,
	.get = param_get_ulong,
};

module_param_cb(manager_high_bytes, &softmem_manager_param_ops,
		&manager_high_bytes, 0644);
MODULE_PARM_DESC(manager_high_bytes,
		 "Discard suspended regions once softmem's resident bytes pass this (0: off)");
module_param_cb(manager_low_bytes, &softmem_manager_param_ops,
		&manager_low_bytes, 0644);
MODULE_PARM_DESC(manager_low_bytes,
		 "... down to this many resident bytes, never below");
module_param_cb(manager_free_bytes, &softmem_manager_param_ops,
		&manager_free_bytes, 0644);
MODULE_PARM_DESC(manager_free_bytes,
		 "Discard suspended regions while MemAvailable is below this (0: off)");
module_param(manager_interval_ms, uint, 0644);
MODULE_PARM_DESC(manager_interval_ms,
		 "How often the free-memory threshold is checked, in ms (default 100)");

/*
 * Pages the manager should discard now, by both of its rules.  *@within
 * tells that they come from the watermarks, which regions must not take
 * past the low mark; the free-memory rule wants at least that many.
 */
static unsigned long softmem_manager_target(bool *within)
{
	unsigned long high = READ_ONCE(manager_high_bytes) >> PAGE_SHIFT;
	unsigned long low = READ_ONCE(manager_low_bytes) >> PAGE_SHIFT;
	unsigned long free = READ_ONCE(manager_free_bytes) >> PAGE_SHIFT;
	long resident = atomic_long_read(&softmem_global_stats[SOFTMEM_STAT_RESIDENT_PAGES]);
	unsigned long target = 0, available;

	*within = true;
	if (high && resident > high && resident > low)
		target = resident - low;
	if (free) {
		available = si_mem_available();
		if (available < free && free - available > target) {
			target = free - available;
			*within = false;
		}
	}
	return target;
}

static void softmem_manager_work_fn(struct work_struct *work)
{
	bool within;
	unsigned long target = softmem_manager_target(&within);
	int nid;

	for_each_node_state(nid, N_MEMORY) {
		if (!target)
			break;
		target -= min(target, softmem_reclaim_node(nid, target, within,
				within ? SOFTMEM_DISCARD_WATERMARK :
					 SOFTMEM_DISCARD_MANAGER));
	}
	if (READ_ONCE(manager_free_bytes) && READ_ONCE(softmem_manager_running))
		mod_delayed_work(system_unbound_wq, &softmem_manager_work,
				 msecs_to_jiffies(max(READ_ONCE(manager_interval_ms), 1U)));
}

/* Runs the manager now: a parameter changed. */
void softmem_manager_kick(void)
{
	if (READ_ONCE(softmem_manager_running))
		mod_delayed_work(system_unbound_wq, &softmem_manager_work, 0);
}

/*
 * Runs the manager if softmem is past the high mark: after new resident
 * pages, and after a suspend, which may give it something to discard.
 */
void softmem_manager_charged(void)
{
	unsigned long high = READ_ONCE(manager_high_bytes) >> PAGE_SHIFT;

	if (high && atomic_long_read(&softmem_global_stats[SOFTMEM_STAT_RESIDENT_PAGES]) > high)
		softmem_manager_kick();
}

void softmem_manager_init(void)
{
	WRITE_ONCE(softmem_manager_running, true);
	softmem_manager_kick();
}

void softmem_manager_exit(void)
{
	WRITE_ONCE(softmem_manager_running, false);
	cancel_delayed_work_sync(&softmem_manager_work);
}
