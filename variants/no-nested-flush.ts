// Mutant: tlb_finish_mmu() without the mm_tlb_flush_nested() full flush,
// i.e. the MADV_DONTNEED flush miss fixed by commit 99baac21e458 (B3).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'no-nested-flush',
  description: 'tlb_finish_mmu does not force a full flush when another mmu_gather is open on the mm',
  edit: (v) => v.drop('tlb_finish_mmu.mm_tlb_flush_nested'),
});
