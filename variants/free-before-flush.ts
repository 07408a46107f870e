// Mutant: tlb_finish_mmu() frees the gathered pages before the TLB flush,
// breaking step 3 of the mmu_gather contract ("unhook, invalidate, free").
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'free-before-flush',
  description: 'tlb_finish_mmu frees the batch before tlb_flush_mmu_tlbonly',
  edit: (v) => v.move('tlb_finish_mmu.free', { before: 'tlb_finish_mmu.flush' }),
});
