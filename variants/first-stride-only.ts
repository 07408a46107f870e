// Mutant: flush_tlb_func() issues INVLPG on the first stride of a range
// and stops, as if the loop in flush_tlb_func() (arch/x86/mm/tlb.c,
// "while (addr < f->end) { flush_tlb_one_user(addr); addr += 1UL <<
// f->stride_shift; }") ran once. INVLPG drops the leaf entry of that one
// page (and the PSC entries it drops, tlb.ts), so every other page of the range
// keeps its translation after the flush: unmap-complete. The loop's
// condition is the decision point flush_tlb_func.next_stride.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'first-stride-only',
  description: 'flush_tlb_func flushes only the first stride of a range (one INVLPG at start)',
  edit: (v) => v.decide('flush_tlb_func.next_stride', (_k, more, at) => more && at.addr === at.start),
});
