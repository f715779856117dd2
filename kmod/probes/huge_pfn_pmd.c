// SPDX-License-Identifier: GPL-2.0
/*
 * vmf_insert_pfn_pmd(vmf, pfn_t, write) making a special PMD (pmd_special:
 * 6.12, on architectures with ARCH_SUPPORTS_PMD_PFNMAP), and ->huge_fault
 * taking an order (6.6).
 */
#include <linux/mm.h>
#include <linux/pfn_t.h>

#if !defined(CONFIG_TRANSPARENT_HUGEPAGE) || \
	!defined(CONFIG_ARCH_SUPPORTS_PMD_PFNMAP)
#error "no special PMDs"
#endif

static vm_fault_t probe_huge_fault(struct vm_fault *vmf, unsigned int order)
{
	return vmf_insert_pfn_pmd(vmf, page_to_pfn_t(ZERO_PAGE(0)), true);
}

const struct vm_operations_struct probe_vm_ops = {
	.huge_fault = probe_huge_fault,
};
