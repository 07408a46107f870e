// Mutant: before 3ea277194daa ("mm, mprotect: flush TLB if potentially
// racing with a parallel reclaim leaving stale TLB entries", Mel Gorman,
// 2017, from Nadav Amit's report), change_pte_range() and zap_pte_range()
// did not call flush_tlb_batched_pending(): a PTE reclaim cleared with its
// flush still batched reads as pte_none, so mprotect (or munmap) records
// nothing to flush for it and returns while another CPU keeps a writable
// entry.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pre-3ea277194daa',
  description: 'change_pte_range and zap_pte_range skip flush_tlb_batched_pending (before 3ea277194daa)',
  edit: (v) => v.drop('change_pte_range.flush_tlb_batched_pending').drop('zap_pte_range.flush_tlb_batched_pending'),
});
