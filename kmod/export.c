// SPDX-License-Identifier: GPL-2.0
/*
 * Exported regions: a region as a file descriptor, imported into any pool
 * as a new handle, and mapped with mmap(MAP_SHARED).
 *
 * Every file of one region shares one inode of a private pseudo filesystem,
 * made at the first export, so that the inode's address_space links every
 * mapping of the region, whichever file and process it came from: a discard
 * zaps them all with unmap_mapping_range() before the pages are freed (see
 * softmem_region_free_pages()).  Pages are put in page tables one at a time
 * by the fault handler, with vm_insert_page() while the region is pinned, so
 * a discard, which needs the region unpinned, cannot slip between the lookup
 * of a page and its mapping.  A discarded region faults with SIGBUS until a
 * holder resumes it; the resume first waits for the zap to finish.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/seq_file.h>

#include "compat.h"
#include "softmem.h"
#include "trace.h"

/* "sfmm": the pseudo filesystem of exported regions' inodes. */
#define SOFTMEM_FS_MAGIC	0x73666d6d

static int softmem_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, SOFTMEM_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type softmem_fs_type = {
	.name			= "softmem",
	.init_fs_context	= softmem_fs_init_fs_context,
	.kill_sb		= kill_anon_super,
};

/*
 * Mounted for the module's lifetime.  Unmounting when the last inode went
 * (simple_release_fs()) could happen in the shrinker, when it frees the last
 * exported region, and unregistering the superblock's shrinker there
 * deadlocks on shrinker_rwsem (6.1).  With no owner the mount holds no
 * module reference; exported files do.
 */
static struct vfsmount *softmem_fs_mnt;

int softmem_export_init(void)
{
	softmem_fs_mnt = kern_mount(&softmem_fs_type);
	return PTR_ERR_OR_ZERO(softmem_fs_mnt);
}

void softmem_export_exit(void)
{
	kern_unmount(softmem_fs_mnt);
}

static const struct file_operations softmem_region_fops;

/* Gives @region an inode for its files, unless it has one. */
static int softmem_region_make_inode(struct softmem_region *region)
{
	struct inode *inode;

	/* Pairs with the release below. */
	if (smp_load_acquire(&region->inode))
		return 0;
	inode = alloc_anon_inode(softmem_fs_mnt->mnt_sb);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	inode->i_size = (loff_t)region->nr_pages << PAGE_SHIFT;

	spin_lock(&region->lock);
	if (!region->inode) {
		/* Lockless readers see an initialised inode. */
		smp_store_release(&region->inode, inode);
		inode = NULL;
	}
	spin_unlock(&region->lock);
	if (inode)
		softmem_export_release_inode(inode);
	return 0;
}

/* Called when the region of @inode is freed. */
void softmem_export_release_inode(struct inode *inode)
{
	iput(inode);
}

/*
 * A new file for @handle's region, reserved as a descriptor in *@filep's
 * return: the caller installs it with fd_install() once user space can be
 * told, or gives both back with put_unused_fd() and fput().
 */
int softmem_export(struct softmem_handle *handle, bool cloexec,
		   struct file **filep)
{
	struct softmem_region *region = handle->region;
	struct file *file;
	int ret, fd;

	ret = softmem_region_make_inode(region);
	if (ret)
		return ret;

	/* Each file holds the module, as fops_put() in __fput() expects. */
	__module_get(THIS_MODULE);
	ihold(region->inode);
	file = alloc_file_pseudo(region->inode, softmem_fs_mnt,
				 "softmem-region", O_RDWR, &softmem_region_fops);
	if (IS_ERR(file)) {
		iput(region->inode);
		module_put(THIS_MODULE);
		return PTR_ERR(file);
	}
	refcount_inc(&region->ref);
	spin_lock(&region->lock);
	region->files++;
	spin_unlock(&region->lock);
	file->private_data = region;

	fd = get_unused_fd_flags(cloexec ? O_CLOEXEC : 0);
	if (fd < 0) {
		fput(file);
		return fd;
	}
	trace_softmem_export(handle, fd);
	*filep = file;
	return fd;
}

static int softmem_region_release(struct inode *inode, struct file *file)
{
	struct softmem_region *region = file->private_data;

	spin_lock(&region->lock);
	region->files--;
	softmem_region_drop_holder(region);
	spin_unlock(&region->lock);
	softmem_region_put(region);
	return 0;
}

/*
 * A handle in @pool for the region of exported descriptor @fd, suspended:
 * see &struct softmem_import.
 */
int softmem_import(struct softmem_pool *pool, int fd, u32 *id, u64 *length)
{
	struct softmem_region *region;
	struct file *file;
	int ret;

	file = fget(fd);
	if (!file)
		return -EBADF;
	ret = -EINVAL;
	if (file->f_op != &softmem_region_fops)
		goto out;
	region = file->private_data;
	ret = softmem_pool_charge_handle(pool);
	if (ret)
		goto out;
	/* The open file keeps the region alive: it cannot be dead. */
	refcount_inc(&region->ref);
	ret = softmem_handle_create(pool, region, false, id);
	if (ret) {
		softmem_region_put(region);
		softmem_pool_stat_add(pool, SOFTMEM_STAT_REGIONS, -1);
		goto out;
	}
	*length = (u64)region->nr_pages << PAGE_SHIFT;
out:
	fput(file);
	return ret;
}

/*
 * Maps page vmf->pgoff of the region, allocating it if it was never
 * written, with the region pinned until the page table entry is in place.
 * A discarded region, or a page that cannot be had, is SIGBUS: never the
 * OOM killer, never silent zeros.
 */
static vm_fault_t softmem_vm_fault(struct vm_fault *vmf)
{
	struct softmem_region *region = vmf->vma->vm_file->private_data;
	unsigned long index = vmf->pgoff;
	vm_fault_t ret = VM_FAULT_SIGBUS;
	struct page *page;

	if (index >= region->nr_pages || softmem_region_fault_begin(region))
		return VM_FAULT_SIGBUS;
	if (!softmem_pages_populate(region, (u64)index << PAGE_SHIFT,
				    PAGE_SIZE)) {
		page = softmem_page_lookup(region, index);
		if (page)
			ret = vmf_insert_page(vmf->vma, vmf->address, page);
	}
	softmem_region_end(region);
	return ret;
}

#ifdef SOFTMEM_HAVE_HUGE_MAP
/*
 * Maps a huge chunk of a huge-backed region with one PMD: the whole chunk
 * must lie in the mapping, at the chunk's offset aligned as in the region.
 * The chunk is backed as a write would back it; if that gives base pages,
 * or the chunk had them already, the fault falls back to PTEs.
 */
static vm_fault_t softmem_vm_huge_fault(struct vm_fault *vmf,
					unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	struct softmem_region *region = vma->vm_file->private_data;
	unsigned long start = vmf->address & PMD_MASK;
	unsigned long first = vmf->pgoff - ((vmf->address - start) >> PAGE_SHIFT);
	vm_fault_t ret = VM_FAULT_FALLBACK;
	struct page *page;

	if (order != SOFTMEM_HUGE_ORDER || !region->huge ||
	    start < vma->vm_start || start + PMD_SIZE > vma->vm_end ||
	    !IS_ALIGNED(first, SOFTMEM_HUGE_PAGES) ||
	    first + SOFTMEM_HUGE_PAGES > region->nr_pages)
		return VM_FAULT_FALLBACK;
	if (softmem_region_fault_begin(region))
		return VM_FAULT_SIGBUS;
	if (!softmem_pages_populate(region, (u64)vmf->pgoff << PAGE_SHIFT,
				    PAGE_SIZE)) {
		page = softmem_page_lookup(region, first);
		if (page && PageHead(page))
			ret = softmem_compat_insert_pmd(vmf, page,
							vmf->flags & FAULT_FLAG_WRITE);
	}
	softmem_region_end(region);
	return ret;
}
#endif

static const struct vm_operations_struct softmem_vm_ops = {
	.fault		= softmem_vm_fault,
#ifdef SOFTMEM_HAVE_HUGE_MAP
	.huge_fault	= softmem_vm_huge_fault,
#endif
};

/* Whether pages [@pgoff, @pgoff + @pages) lie within @region. */
static bool softmem_map_fits(struct softmem_region *region,
			     unsigned long pgoff, unsigned long pages)
{
	return pgoff < region->nr_pages && pages <= region->nr_pages - pgoff;
}

/*
 * Shared mappings only, within the region.  VM_MIXEDMAP lets the fault
 * handler insert pages, and VM_DONTEXPAND keeps mremap() from growing a
 * mapping past what was checked here.
 */
#ifdef SOFTMEM_HAVE_MMAP_PREPARE_FLAGS
static int softmem_region_mmap_prepare(struct vm_area_desc *desc)
{
	struct softmem_region *region = desc->file->private_data;

	if (!vma_desc_test_all(desc, VMA_MAYSHARE_BIT) ||
	    !softmem_map_fits(region, desc->pgoff, vma_desc_pages(desc)))
		return -EINVAL;
	vma_desc_set_flags(desc, VMA_MIXEDMAP_BIT, VMA_DONTEXPAND_BIT);
	desc->vm_ops = &softmem_vm_ops;
	trace_softmem_map(region, desc->pgoff, vma_desc_pages(desc));
	return 0;
}
#else
static int softmem_region_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct softmem_region *region = file->private_data;

	if (!(vma->vm_flags & VM_MAYSHARE) ||
	    !softmem_map_fits(region, vma->vm_pgoff, vma_pages(vma)))
		return -EINVAL;
	softmem_compat_vm_flags_set(vma, VM_MIXEDMAP | VM_DONTEXPAND);
	vma->vm_ops = &softmem_vm_ops;
	trace_softmem_map(region, vma->vm_pgoff, vma_pages(vma));
	return 0;
}
#endif

static const char *const softmem_state_names[] = {
	[SOFTMEM_REGION_RESUMED] = "resumed",
	[SOFTMEM_REGION_SUSPENDED] = "suspended",
	[SOFTMEM_REGION_DISCARDED] = "discarded",
	[SOFTMEM_REGION_DEAD] = "dead",
};

/* /proc/<pid>/fdinfo/<fd> of an exported region: what all holders see. */
static void softmem_region_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct softmem_region *region = file->private_data;
	unsigned int handles, resumed, files;
	unsigned long resident;
	enum softmem_state state;

	spin_lock(&region->lock);
	state = region->state;
	handles = region->handles;
	resumed = region->resumed;
	files = region->files;
	resident = region->backing ? region->backing->nr_pages : 0;
	spin_unlock(&region->lock);

	seq_printf(m, "softmem-region:\t%llu\n", region->id);
	seq_printf(m, "softmem-pool:\t%llu\n", region->pool->id);
	seq_printf(m, "softmem-length-bytes:\t%llu\n",
		   (u64)region->nr_pages << PAGE_SHIFT);
	seq_printf(m, "softmem-resident-bytes:\t%llu\n",
		   (u64)resident << PAGE_SHIFT);
	seq_printf(m, "softmem-state:\t%s\n", softmem_state_names[state]);
	seq_printf(m, "softmem-handles:\t%u\n", handles);
	seq_printf(m, "softmem-resumed-handles:\t%u\n", resumed);
	seq_printf(m, "softmem-files:\t%u\n", files);
}

static const struct file_operations softmem_region_fops = {
	.owner		= THIS_MODULE,
	.release	= softmem_region_release,
	.show_fdinfo	= softmem_region_show_fdinfo,
#ifdef SOFTMEM_HAVE_MMAP_PREPARE_FLAGS
	.mmap_prepare	= softmem_region_mmap_prepare,
#else
	.mmap		= softmem_region_mmap,
#endif
#ifdef SOFTMEM_HAVE_HUGE_MAP
	/* Mappings of 2 MiB and more aligned as the region, for PMDs. */
	.get_unmapped_area = thp_get_unmapped_area,
#endif
	.llseek		= noop_llseek,
};
