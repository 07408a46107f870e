// Mutant: x86 tlb_flush() passing tlb->freed_tables alone to
// flush_tlb_mm_range(), as arch/x86/include/asm/tlb.h did before Lance
// Yang's "x86/tlb: skip redundant sync IPIs for native TLB flush" (v7,
// 2026-03; mm-unstable 2026-04-30, mainline merge not verified:
// update-2026.md B3; torvalds/linux 016c4d92 as read still has it). A
// hugetlb PMD unshare (8ce720d5bd91) sets unshared_tables, not
// freed_tables, so the flush skips the unsharer's lazy CPUs: their PSC
// entries keep pointing at the PMD table this mm no longer links, and a
// speculative walk may go through it once its last owner frees it.
import { defineVariant } from '../model/policies/variant.js';
import { tlbFlushMmuTlbonlyStep, tlbGetUnmapShift } from '../model/kernel/paths/mmu_gather.js';

export default defineVariant({
  name: 'pre-b3-unshare-no-lazy-ipi',
  description: 'x86 tlb_flush passes freed_tables alone: a hugetlb PMD unshare does not IPI lazy CPUs (before B3)',
  edit: (v) => v.replace('tlb_flush_mmu_tlbonly', tlbFlushMmuTlbonlyStep(tlbGetUnmapShift, (g) => g.freedTables)),
});
