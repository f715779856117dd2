// SPDX-License-Identifier: GPL-2.0
/* file_operations.mmap_prepare with vma_flags_t in the descriptor: 7.0 */
#include <linux/fs.h>
#include <linux/mm.h>

static int probe_mmap_prepare(struct vm_area_desc *desc)
{
	if (!vma_desc_test_all(desc, VMA_MAYSHARE_BIT))
		return -EINVAL;
	vma_desc_set_flags(desc, VMA_MIXEDMAP_BIT, VMA_DONTEXPAND_BIT);
	return 0;
}

const struct file_operations probe_fops = {
	.mmap_prepare = probe_mmap_prepare,
};
