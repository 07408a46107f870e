// Mutant: tlb_get_unmap_shift() returns the HIGHEST level cleared instead
// of the lowest (include/asm-generic/tlb.h tests cleared_ptes first, then
// cleared_pmds, _puds, _p4ds). A munmap that clears PTEs and also frees the
// tables above them is then flushed with a PMD-or-wider stride: one INVLPG
// per stride, so the leaf entries of the pages in between survive
// (unmap-complete). A mechanism mutant: no such commit was found in the
// kernel's history; the closest real bug, Jann Horn's 3ef938c35035
// "x86/mm: Fix flush_tlb_range() when used for zapping normal PMDs"
// (CVE-2025-22045), passed freed_tables = false for PMD-table zaps, and its
// path (collapse_pte_mapped_thp -> pmdp_collapse_flush) is not modelled.
import { span, type Config } from '../model/kernel/config.js';
import type { Gather } from '../model/kernel/state.js';
import { tlbFlushMmuTlbonlyStep } from '../model/kernel/paths/mmu_gather.js';
import { defineVariant } from '../model/policies/variant.js';

function highestShift(c: Config, g: Gather): number {
  if (g.clearedP4ds) return span(c, 4);
  if (g.clearedPuds) return span(c, 3);
  if (g.clearedPmds) return span(c, 2);
  return 1;
}

export default defineVariant({
  name: 'unmap-shift-highest',
  description: 'tlb_get_unmap_shift picks the highest level cleared, so the flush stride skips pages',
  edit: (v) => v.replace('tlb_flush_mmu_tlbonly', tlbFlushMmuTlbonlyStep(highestShift)),
});
