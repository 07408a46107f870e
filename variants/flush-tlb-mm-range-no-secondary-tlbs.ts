// Mutant (a rule mutant, not a historical state): flush_tlb_mm_range()
// without its mmu_notifier_arch_invalidate_secondary_tlbs(mm, start, end)
// (arch/x86/mm/tlb.c). That line came with 6bbd42e2df8f ("mmu_notifiers:
// call invalidate_range() when invalidating TLBs", Alistair Popple, 2023),
// which moved the secondary-TLB invalidation into the architectures' TLB
// flush functions; before it, tlb_flush_mmu_tlbonly() and
// mmu_notifier_invalidate_range_end() made the call instead. This mutant
// drops the x86 call without restoring those old call sites, so nothing
// invalidates an IOMMU SVA device's ATC (paths/sva.ts) when a CPU flush
// of the bound mm runs: munmap frees a page the device still translates.
// The mshare host notifier (mshare_invalidate_tlbs) reached through the
// same call is dropped too; the mutant is run on linux only.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'flush-tlb-mm-range-no-secondary-tlbs',
  description: 'flush_tlb_mm_range() does not call mmu_notifier_arch_invalidate_secondary_tlbs(): an SVA device keeps its ATC entries (rule mutant of 6bbd42e2df8f)',
  edit: (v) =>
    v.replace('mmu_notifier_arch_invalidate_secondary_tlbs', function* () {
      // put_cpu(); return: no secondary TLB is told
    }),
});
