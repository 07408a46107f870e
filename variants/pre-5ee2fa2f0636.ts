// Mutant: flush_tlb_batched_pending() and mm->tlb_flush_batched as they were
// before 5ee2fa2f0636 ("mm/rmap: fix potential batched TLB flush race",
// Huang Ying, in torvalds/linux 2022-01-16; reported by syzbot/KCSAN): a bool that
// set_tlb_ubc_flush_pending() sets and flush_tlb_batched_pending() clears
// after its flush_tlb_mm(), unconditionally ("barrier();
// mm->tlb_flush_batched = false;"). Both run under a PTL, but not the same
// one: reclaim can clear a PTE of another table and set the flag while the
// flush runs, and the store of false then loses that pending flush ("After
// the TLB is flushed on CPU1 via flush_tlb_mm() and before
// mm->tlb_flush_batched is set to false, some PTE is unmapped on CPU0 and
// the TLB flushing is pended. Then the pended TLB flushing will be lost.").
// A later mprotect or munmap of that PTE finds pte_none and the flag clear,
// and returns while another CPU still holds the entry: 3ea277194daa's race
// again. The fix made it a counter of pending and flushed generations and
// flush_tlb_batched_pending() an atomic_cmpxchg() that fails if a batch was
// added meanwhile. Every caller of the model's flush_tlb_batched_pending()
// (zap_pte_range, change_pte_range, move_ptes, madvise_free_pte_range)
// gets the old body.
// Scenario: test/scenarios/reclaim-vs-batched-pending-5ee2fa2f0636.txt.
import { defineVariant } from '../model/policies/variant.js';
import { TLB_FLUSH_ALL } from '../model/kernel/state.js';
import type { K } from '../model/kernel/step.js';
import type { MmId } from '../model/kernel/types.js';
import type { FlushCtx } from '../model/kernel/paths/flush_tlb_mm_range.js';

/** The pre-fix body: if (mm->tlb_flush_batched) { flush_tlb_mm(mm); barrier(); mm->tlb_flush_batched = false; } */
function* flushTlbBatchedPendingBool(k: K, mm: MmId) {
  const b = k.s.mms[mm]!.tlbFlushBatched;
  if (b.pending === b.flushed) return; // the bool is false
  const f: FlushCtx = { mm, start: 0, end: TLB_FLUSH_ALL, stride: 1, freedTables: true }; // flush_tlb_mm()
  yield* k.run('flush_tlb_mm_range', f);
  b.flushed = b.pending; // mm->tlb_flush_batched = false, whatever was set during the flush
  yield { id: 'flush_tlb_batched_pending.atomic_cmpxchg' }; // (the store of false, where the fix has its cmpxchg)
}

export default defineVariant({
  name: 'pre-5ee2fa2f0636',
  description: 'flush_tlb_batched_pending clears mm->tlb_flush_batched after its flush unconditionally, losing a batch reclaim added meanwhile (before 5ee2fa2f0636)',
  edit: (v) =>
    v
      .replace('zap_pte_range.flush_tlb_batched_pending', function* (k, c: { mm: MmId }) {
        yield* flushTlbBatchedPendingBool(k, c.mm);
      })
      .replace('change_pte_range.flush_tlb_batched_pending', function* (k, c: { mm: MmId }) {
        yield* flushTlbBatchedPendingBool(k, c.mm);
      })
      .replace('move_ptes.flush_tlb_batched_pending', function* (k, c: { mm: MmId }) {
        yield* flushTlbBatchedPendingBool(k, c.mm);
      })
      .replace('madvise_free_pte_range.flush_tlb_batched_pending', function* (k, c: { mm: MmId }) {
        yield* flushTlbBatchedPendingBool(k, c.mm);
      }),
});
