// Mutant: page tables are freed with the pages, right after the TLB flush,
// instead of after an RCU grace period: x86 native before v6.14, where
// MMU_GATHER_RCU_TABLE_FREE was selected only with PARAVIRT and
// native_tlb_remove_table() was tlb_remove_page() ("semi-RCU": the flush
// IPI, which waits for IRQs-off CPUs, was what kept GUP-fast safe). Qi
// Zheng's "x86: mm: free page table pages by RCU instead of semi RCU" and
// Rik van Riel's "x86/mm: Make MMU_GATHER_RCU_TABLE_FREE unconditional"
// (the INVLPGB series, v6.15) removed it, because an INVLPGB broadcast
// sends no IPI and holds off nobody. With invlpgb = 0 this variant holds;
// with a global-ASID mm under invlpgb = 1 a GUP-fast walker reads a freed
// table (no-freed-table-reachable).
import { defineVariant } from '../model/policies/variant.js';
import { gatherOf, type RemoveTableCtx } from '../model/kernel/paths/mmu_gather.js';

export default defineVariant({
  name: 'tables-freed-after-flush',
  description: 'tlb_remove_table is tlb_remove_page: tables freed with the page batch after the flush, no RCU (x86 native before v6.14)',
  edit: (v) =>
    v.replace('tlb_remove_table', function* (k, c: RemoveTableCtx) {
      gatherOf(k).pages.push(c.table); // tlb_remove_page(): freed by tlb_batch_pages_flush() after the flush
      return 'stop';
    }),
});
