// Mutant: native_flush_tlb_multi() sends no IPI; only the local CPU flushes.
import { defineVariant } from '../model/policies/variant.js';
import type { FlushCtx } from '../model/kernel/paths/flush_tlb_mm_range.js';

export default defineVariant({
  name: 'no-ipi',
  description: 'flush_tlb_mm_range flushes the local CPU only and sends no IPI',
  edit: (v) =>
    v.replace('native_flush_tlb_multi.send', function* (k, c: FlushCtx) {
      c.sent = [];
      c.runLocal = k.s.cpus[k.cpu]!.loadedMm === c.mm;
    }),
});
