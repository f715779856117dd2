// SPDX-License-Identifier: GPL-2.0
/*
 * vmf_insert_pfn_pmd(vmf, unsigned long pfn, write) once pfn_t was gone
 * (7.x), making a special PMD, and ->huge_fault taking an order.
 */
#include <linux/mm.h>

#if !defined(CONFIG_TRANSPARENT_HUGEPAGE) || \
	!defined(CONFIG_ARCH_SUPPORTS_PMD_PFNMAP)
#error "no special PMDs"
#endif

static vm_fault_t probe_huge_fault(struct vm_fault *vmf, unsigned int order)
{
	return vmf_insert_pfn_pmd(vmf, page_to_pfn(ZERO_PAGE(0)), true);
}

const struct vm_operations_struct probe_vm_ops = {
	.huge_fault = probe_huge_fault,
};
