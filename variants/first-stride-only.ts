// Mutant: flush_tlb_func() issues INVLPG on the first stride of a range
// and stops, as if the loop in flush_tlb_func() (arch/x86/mm/tlb.c,
// "while (addr < f->end) { flush_tlb_one_user(addr); addr += 1UL <<
// f->stride_shift; }") ran once. INVLPG drops the leaf entry of that one
// page (and the PSC entries it drops, tlb.ts), so every other page of the range
// keeps its translation after the flush: unmap-complete.
import { defineVariant } from '../model/policies/variant.js';
import type { FlushFuncCtx } from '../model/kernel/paths/flush_tlb_func.js';
import { flushSlot, flushTlbOne } from '../model/kernel/tlb.js';

export default defineVariant({
  name: 'first-stride-only',
  description: 'flush_tlb_func flushes only the first stride of a range (one INVLPG at start)',
  edit: (v) =>
    v.replace('flush_tlb_func.flush', function* (k, c: FlushFuncCtx) {
      const cpu = k.s.cpus[k.cpu]!;
      if (c.partial) flushTlbOne(k.s, cpu, cpu.loadedSlot, c.info.start);
      else flushSlot(cpu, cpu.loadedSlot);
      yield { id: c.partial ? 'flush_tlb_func.flush_tlb_one_user' : 'flush_tlb_func.flush_tlb_local' };
    }),
});
