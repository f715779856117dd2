// SPDX-License-Identifier: GPL-2.0
/* vm_flags_set(): 6.3, when vm_flags became read-only */
#include <linux/mm.h>

void probe(struct vm_area_struct *vma)
{
	vm_flags_set(vma, VM_MIXEDMAP);
}
