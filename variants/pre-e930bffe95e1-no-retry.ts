// Mutant: the TDP fault installs its SPTE without the retry check that
// e930bffe95e1 ("KVM: Synchronize guest physical memory map to host
// virtual memory map", Andrea Arcangeli, 2008) brought with the MMU
// notifier: no mmu_notifier_seq / mmu_notifier_count test under mmu_lock
// (today's is_page_fault_stale() -> mmu_invalidate_retry_gfn()). A pfn
// resolved before an invalidation is mapped after it: the SPTE outlives
// the primary PTE and then the page.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pre-e930bffe95e1-no-retry',
  description: 'is_page_fault_stale() never retries: no mmu_invalidate_seq / in_progress check before the SPTE is installed',
  edit: (v) =>
    v.replace('is_page_fault_stale', function* () {
      // the fault goes on to tdp_mmu_map_handle_target_level() whatever happened since the seq sample
    }),
});
