// SPDX-License-Identifier: GPL-2.0
/*
 * Module-wide usage counters, shown in /sys/class/misc/softmem/stats/.
 *
 * Pool counters live in each pool; softmem_stat_add() applies every change
 * to the pool and to softmem_global_stats at once.
 */
#include <linux/device.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>

#include "softmem.h"

atomic_long_t softmem_global_stats[SOFTMEM_NR_STATS];
atomic_long_t softmem_global_node_stats[MAX_NUMNODES][SOFTMEM_NR_NODE_STATS];
atomic_long_t softmem_pools;

static ssize_t softmem_show_count(char *buf, enum softmem_stat item)
{
	return sysfs_emit(buf, "%ld\n",
			  atomic_long_read(&softmem_global_stats[item]));
}

static ssize_t softmem_show_pages(char *buf, enum softmem_stat item)
{
	u64 pages = atomic_long_read(&softmem_global_stats[item]);

	return sysfs_emit(buf, "%llu\n", pages << PAGE_SHIFT);
}

/* One line "<node> <bytes>" per node with memory. */
static ssize_t softmem_show_nodes(char *buf, enum softmem_node_stat item)
{
	ssize_t len = 0;
	int nid;

	for_each_node_state(nid, N_MEMORY) {
		u64 pages = atomic_long_read(&softmem_global_node_stats[nid][item]);

		len += sysfs_emit_at(buf, len, "%d %llu\n", nid,
				     pages << PAGE_SHIFT);
	}
	return len;
}

static ssize_t pools_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&softmem_pools));
}
static DEVICE_ATTR_RO(pools);

static ssize_t regions_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return softmem_show_count(buf, SOFTMEM_STAT_REGIONS);
}
static DEVICE_ATTR_RO(regions);

static ssize_t discard_events_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	return softmem_show_count(buf, SOFTMEM_STAT_DISCARD_EVENTS);
}
static DEVICE_ATTR_RO(discard_events);

static ssize_t length_bytes_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return softmem_show_pages(buf, SOFTMEM_STAT_LENGTH_PAGES);
}
static DEVICE_ATTR_RO(length_bytes);

static ssize_t resident_bytes_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	return softmem_show_pages(buf, SOFTMEM_STAT_RESIDENT_PAGES);
}
static DEVICE_ATTR_RO(resident_bytes);

static ssize_t suspended_bytes_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	return softmem_show_pages(buf, SOFTMEM_STAT_SUSPENDED_PAGES);
}
static DEVICE_ATTR_RO(suspended_bytes);

static ssize_t discarded_bytes_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	return softmem_show_pages(buf, SOFTMEM_STAT_DISCARDED_PAGES);
}
static DEVICE_ATTR_RO(discarded_bytes);

static ssize_t huge_bytes_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return softmem_show_pages(buf, SOFTMEM_STAT_HUGE_PAGES);
}
static DEVICE_ATTR_RO(huge_bytes);

static ssize_t node_resident_bytes_show(struct device *dev,
					struct device_attribute *attr,
					char *buf)
{
	return softmem_show_nodes(buf, SOFTMEM_NODE_RESIDENT_PAGES);
}
static DEVICE_ATTR_RO(node_resident_bytes);

static ssize_t node_suspended_bytes_show(struct device *dev,
					 struct device_attribute *attr,
					 char *buf)
{
	return softmem_show_nodes(buf, SOFTMEM_NODE_SUSPENDED_PAGES);
}
static DEVICE_ATTR_RO(node_suspended_bytes);

static struct attribute *softmem_stats_attrs[] = {
	&dev_attr_pools.attr,
	&dev_attr_regions.attr,
	&dev_attr_length_bytes.attr,
	&dev_attr_resident_bytes.attr,
	&dev_attr_suspended_bytes.attr,
	&dev_attr_discarded_bytes.attr,
	&dev_attr_discard_events.attr,
	&dev_attr_huge_bytes.attr,
	&dev_attr_node_resident_bytes.attr,
	&dev_attr_node_suspended_bytes.attr,
	NULL
};

static const struct attribute_group softmem_stats_group = {
	.name	= "stats",
	.attrs	= softmem_stats_attrs,
};

const struct attribute_group *softmem_stats_groups[] = {
	&softmem_stats_group,
	NULL
};

/* The names of &enum softmem_stat in fdinfo, with whether it counts pages. */
static const struct {
	const char *name;
	bool pages;
} softmem_fdinfo_stats[SOFTMEM_NR_STATS] = {
	[SOFTMEM_STAT_REGIONS] = { "regions", false },
	[SOFTMEM_STAT_LENGTH_PAGES] = { "length-bytes", true },
	[SOFTMEM_STAT_RESIDENT_PAGES] = { "resident-bytes", true },
	[SOFTMEM_STAT_SUSPENDED_PAGES] = { "suspended-bytes", true },
	[SOFTMEM_STAT_DISCARDED_PAGES] = { "discarded-bytes", true },
	[SOFTMEM_STAT_DISCARD_EVENTS] = { "discard-events", false },
	[SOFTMEM_STAT_HUGE_PAGES] = { "huge-bytes", true },
};

/*
 * /proc/<pid>/fdinfo/<fd> of a pool: its number, policy, limit and
 * counters (as SOFTMEM_IOC_STATS has them), and its pages per node.
 */
void softmem_pool_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct softmem_pool *pool = file->private_data;
	int item, nid;

	seq_printf(m, "softmem-pool:\t%llu\n", pool->id);
	seq_printf(m, "softmem-policy:\t%s\n",
		   softmem_pool_fifo(pool) ? "fifo" : "lru");
	seq_printf(m, "softmem-limit-bytes:\t%llu\n",
		   (u64)READ_ONCE(pool->limit_pages) << PAGE_SHIFT);
	for (item = 0; item < SOFTMEM_NR_STATS; item++) {
		u64 value = atomic_long_read(&pool->stats[item]);

		if (softmem_fdinfo_stats[item].pages)
			value <<= PAGE_SHIFT;
		seq_printf(m, "softmem-%s:\t%llu\n",
			   softmem_fdinfo_stats[item].name, value);
	}
	for_each_node_state(nid, N_MEMORY) {
		atomic_long_t *node = pool->node_stats[nid];
		u64 resident = atomic_long_read(&node[SOFTMEM_NODE_RESIDENT_PAGES]);
		u64 suspended = atomic_long_read(&node[SOFTMEM_NODE_SUSPENDED_PAGES]);

		seq_printf(m, "softmem-node%d-resident-bytes:\t%llu\n", nid,
			   resident << PAGE_SHIFT);
		seq_printf(m, "softmem-node%d-suspended-bytes:\t%llu\n", nid,
			   suspended << PAGE_SHIFT);
	}
}
