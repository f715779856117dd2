// SPDX-License-Identifier: GPL-2.0
/*
 * softmem: discardable memory for user space.
 *
 * /dev/softmem is a misc device; each open() makes a pool of regions that
 * lives until the last reference to the file goes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>

#include "compat.h"
#include "softmem.h"

static unsigned long max_bytes;
module_param(max_bytes, ulong, 0644);
MODULE_PARM_DESC(max_bytes,
		 "Module-wide cap on resident bytes of all pools (default: half of RAM)");

static unsigned long pool_max_bytes;
module_param(pool_max_bytes, ulong, 0644);
MODULE_PARM_DESC(pool_max_bytes,
		 "Default and largest per-pool limit on resident bytes (default: max_bytes)");

static unsigned long max_regions;
module_param(max_regions, ulong, 0644);
MODULE_PARM_DESC(max_regions,
		 "Module-wide cap on regions of all pools (default: one per page of RAM)");

static unsigned long pool_max_regions;
module_param(pool_max_regions, ulong, 0644);
MODULE_PARM_DESC(pool_max_regions,
		 "Cap on the regions of one pool (default: max_regions)");

unsigned long softmem_max_regions(void)
{
	return READ_ONCE(max_regions);
}

unsigned long softmem_pool_max_regions(void)
{
	return READ_ONCE(pool_max_regions);
}

unsigned long softmem_max_pages(void)
{
	return READ_ONCE(max_bytes) >> PAGE_SHIFT;
}

unsigned long softmem_pool_max_pages(void)
{
	return READ_ONCE(pool_max_bytes) >> PAGE_SHIFT;
}

static int softmem_open(struct inode *inode, struct file *file)
{
	struct softmem_pool *pool;

	pool = softmem_pool_create();
	if (!pool)
		return -ENOMEM;
	file->private_data = pool;
	return nonseekable_open(inode, file);
}

static int softmem_release(struct inode *inode, struct file *file)
{
	softmem_pool_destroy(file->private_data);
	return 0;
}

static const struct file_operations softmem_fops = {
	.owner		= THIS_MODULE,
	.open		= softmem_open,
	.release	= softmem_release,
	.unlocked_ioctl	= softmem_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.show_fdinfo	= softmem_pool_show_fdinfo,
#ifdef SOFTMEM_HAVE_MMAP_PREPARE_FLAGS
	.mmap_prepare	= softmem_words_mmap_prepare,
#else
	.mmap		= softmem_words_mmap,
#endif
};

static struct miscdevice softmem_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "softmem",
	.fops	= &softmem_fops,
	.groups	= softmem_stats_groups,
	.mode	= 0666,
};

static int __init softmem_init(void)
{
	int ret;

	if (!max_bytes)
		max_bytes = (totalram_pages() / 2) << PAGE_SHIFT;
	if (!pool_max_bytes)
		pool_max_bytes = max_bytes;
	if (!max_regions)
		max_regions = totalram_pages();
	if (!pool_max_regions)
		pool_max_regions = max_regions;

	ret = softmem_pages_init();
	if (ret)
		return ret;
	ret = softmem_regions_init();
	if (ret)
		goto err_pages;
	ret = softmem_handles_init();
	if (ret)
		goto err_regions;
	ret = softmem_export_init();
	if (ret)
		goto err_handles;
	ret = softmem_reclaim_init();
	if (ret)
		goto err_export;
	ret = misc_register(&softmem_misc);
	if (ret) {
		pr_err("cannot register /dev/softmem: %d\n", ret);
		goto err_reclaim;
	}
	softmem_manager_init();
	return 0;

err_reclaim:
	softmem_reclaim_exit();
err_export:
	softmem_export_exit();
err_handles:
	softmem_handles_exit();
err_regions:
	softmem_regions_exit();
err_pages:
	softmem_pages_exit();
	return ret;
}

static void __exit softmem_exit(void)
{
	misc_deregister(&softmem_misc);
	softmem_manager_exit();
	softmem_reclaim_exit();
	softmem_export_exit();
	softmem_handles_exit();
	softmem_regions_exit();
	softmem_pages_exit();
}

module_init(softmem_init);
module_exit(softmem_exit);

MODULE_DESCRIPTION("Discardable memory regions with loss notification");
MODULE_LICENSE("GPL");
