// Mutant: lazy CPUs are skipped even when page tables are freed, as before
// commit 2ff6ddf19c0e ("x86/mm/tlb: Leave lazy TLB mode at page table free
// time"): a lazy CPU keeps paging-structure-cache entries into freed tables.
// The commit added the freed_tables test to native_flush_tlb_multi(); the
// mutant answers it with false (decision point, model/kernel/decisions.ts).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'skip-lazy-on-table-free',
  description: 'native_flush_tlb_multi applies should_flush_tlb (lazy skip) also when freed_tables is set',
  edit: (v) => v.decide('native_flush_tlb_multi.freed_tables', () => false),
});
