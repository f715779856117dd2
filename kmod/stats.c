// SPDX-License-Identifier: GPL-2.0
/*
 * Module-wide usage counters, shown in /sys/class/misc/softmem/stats/.
 *
 * Pool counters live in each pool; every change is applied to the pool and to
 * softmem_global at once by softmem_stat_add().
 */
#include <linux/device.h>
#include <linux/mm.h>
#include <linux/sysfs.h>

#include "softmem.h"

struct softmem_counters softmem_global;
atomic_long_t softmem_pools;

#define SOFTMEM_STAT_ATTR(name, value)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%ld\n", value);				\
}									\
static DEVICE_ATTR_RO(name)

#define SOFTMEM_STAT_PAGES(name, item)					\
	SOFTMEM_STAT_ATTR(name,						\
		atomic_long_read(&softmem_global.item) << PAGE_SHIFT)

SOFTMEM_STAT_ATTR(pools, atomic_long_read(&softmem_pools));
SOFTMEM_STAT_ATTR(regions, atomic_long_read(&softmem_global.regions));
SOFTMEM_STAT_ATTR(discard_events,
		  atomic_long_read(&softmem_global.discard_events));
SOFTMEM_STAT_PAGES(length_bytes, length_pages);
SOFTMEM_STAT_PAGES(resident_bytes, resident_pages);
SOFTMEM_STAT_PAGES(suspended_bytes, suspended_pages);
SOFTMEM_STAT_PAGES(discarded_bytes, discarded_pages);

static struct attribute *softmem_stats_attrs[] = {
	&dev_attr_pools.attr,
	&dev_attr_regions.attr,
	&dev_attr_length_bytes.attr,
	&dev_attr_resident_bytes.attr,
	&dev_attr_suspended_bytes.attr,
	&dev_attr_discarded_bytes.attr,
	&dev_attr_discard_events.attr,
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
