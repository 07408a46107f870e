// Rule mutant (no fix commit: the order was never merged). It is the
// order of a posted patch, "[RFC PATCH v2 1/6] KVM: gmem: Truncate pages
// on punch hole" (Isaku Yamahata, kvm@vger.kernel.org, 2023-09-21, read
// through the search tool), which added truncate_inode_pages_range() after
// the loop that called kvm_gmem_invalidate_begin() and _end() back to back,
// in the pre-merge virt/kvm/guest_mem.c; the merged a7800aa80ea4 ("KVM:
// Add KVM_CREATE_GUEST_MEMFD ioctl() for guest-specific backing memory",
// Sean Christopherson, 2023-11-13) truncates between begin and end, as
// today's code does. kvm_gmem_punch_hole()
// (virt/kvm/guest_memfd.c) calls kvm_gmem_invalidate_end() before
// truncate_inode_pages_range(): the invalidation is over while the folios
// are still in the page cache, so a TDP fault that samples
// mmu_invalidate_seq after the end takes a folio from kvm_gmem_get_pfn()
// that the truncate then removes, and mmu_invalidate_retry_gfn() has
// nothing to see: the SPTE maps a page no longer in the file, freed once
// the fault drops its reference. Expected: secondary-subset (holder SPTE)
// at tdp_mmu_map_handle_target_level
// (test/scenarios/gmem-fault-after-invalidate-end.txt, test/kvm_gmem.test.ts).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'gmem-end-before-truncate',
  description: 'kvm_gmem_punch_hole() ends the invalidation (kvm_gmem_invalidate_end()) before truncate_inode_pages_range() (rule mutant)',
  edit: (v) => v.move('kvm_gmem_invalidate_end', { before: 'truncate_inode_pages_range' }),
});
