// Mutant: lazy CPUs are skipped even when page tables are freed, as before
// commit 2ff6ddf19c0e ("x86/mm/tlb: Leave lazy TLB mode at page table free
// time"): a lazy CPU keeps paging-structure-cache entries into freed tables.
import { defineVariant } from '../model/policies/variant.js';
import { sendIpis, shouldFlushTlb, type FlushCtx } from '../model/kernel/paths/flush_tlb_mm_range.js';

export default defineVariant({
  name: 'skip-lazy-on-table-free',
  description: 'native_flush_tlb_multi applies should_flush_tlb (lazy skip) also when freed_tables is set',
  edit: (v) =>
    v.replace('native_flush_tlb_multi.send', function* (k, c: FlushCtx) {
      const mm = k.s.mms[c.mm]!;
      const me = k.s.cpus[k.cpu]!;
      const targets = mm.cpumask.filter((x) => x !== k.cpu && shouldFlushTlb(k.s, k.s.cpus[x]!, c.info!, k.cpu));
      c.sent = sendIpis(k, targets, 'flush_tlb_func', c.info!);
      c.runLocal = mm.cpumask.includes(k.cpu) && shouldFlushTlb(k.s, me, c.info!, k.cpu);
      if (c.sent.length) yield { id: 'native_flush_tlb_multi.send' };
    }),
});
