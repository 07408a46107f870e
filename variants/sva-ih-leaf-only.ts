// Mutant (a rule mutant, not a historical state): the IOMMU invalidation
// that flush_tlb_mm_range() reaches through
// mmu_notifier_arch_invalidate_secondary_tlbs() sets the invalidation
// hint, so the IOMMU drops its IOTLB and the device its ATC entries for
// the range but keeps its paging-structure caches. Mainline's
// intel_arch_invalidate_secondary_tlbs() (drivers/iommu/intel/svm.c)
// passes ih = 0 to cache_tag_flush_range(); IH = 1 says only leaf
// entries changed, which is false when the flush is the one of an
// mmu_gather that freed a page table (free_pgtables(), PT_RECLAIM). The
// IOMMU then still walks from the freed table: no-freed-table-reachable,
// holder 'device PSC' (paths/sva.ts). The hint is the decision point
// cache_tag_flush_range.ih.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'sva-ih-leaf-only',
  description: 'the SVA invalidation sets IH (leaf entries only): the IOMMU keeps its paging-structure caches when a flush of the bound mm frees page tables (rule mutant)',
  edit: (v) => v.decide('cache_tag_flush_range.ih', () => true),
});
