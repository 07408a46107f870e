// Mutant: the bug pattern 383c4613c67c ("mm: close theoretical race where
// stale TLB entries could linger", Ryan Roberts, 2025) fixed in
// madvise_free_pte_range() and madvise_cold_or_pageout_pte_range(): after
// dropping and retaking the PTL, the walker did not call
// flush_tlb_batched_pending() again. The model has neither walker (its
// madvise is MADV_DONTNEED through zap_pte_range()), so the mutant puts the
// same omission on the model's relock site, zap_pte_range()'s retry after
// force_break / need_resched: flush_tlb_batched_pending() only on the first
// pte_offset_map_lock() of a table. Upstream zap_pte_range() was never
// broken this way (its `retry:` label precedes the call).
import { defineVariant } from '../model/policies/variant.js';
import { flushTlbBatchedPending } from '../model/kernel/paths/flush_tlb_batched_pending.js';
import type { ZapCtx } from '../model/kernel/paths/zap.js';

export default defineVariant({
  name: 'relock-no-batched-flush',
  description: 'zap_pte_range calls flush_tlb_batched_pending only on its first lock of a table, not after a retry (the 383c4613c67c pattern)',
  edit: (v) =>
    v.replace('zap_pte_range.flush_tlb_batched_pending', function* (k, c: ZapCtx) {
      if (c.addr === c.start) yield* flushTlbBatchedPending(k, c.mm);
    }),
});
