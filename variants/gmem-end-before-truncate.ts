// Rule mutant (no fix commit verified, as for
// gmem-truncate-before-invalidate.ts). kvm_gmem_punch_hole()
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
