// flush_tlb_batched_pending() (mm/rmap.c), called under the PTL by every
// path that is about to change PTEs reclaim may have unmapped with a
// deferred flush (zap_pte_range, change_pte_range, and madvise's own PTE
// walkers, which reach the model through zap_pte_range):
//
//   1. Read mm->tlb_flush_batched: a pending and a flushed half.
//   2. If they differ, reclaim cleared PTEs of this mm whose flush is still
//      batched (try_to_unmap_flush() not yet run): flush the whole mm here,
//      x86 arch_flush_tlb_batched_pending() = flush_tlb_mm(), i.e.
//      flush_tlb_mm_range(mm, 0, TLB_FLUSH_ALL, 0, freed_tables = true).
//   3. atomic_cmpxchg(): mark the halves equal only if no new batch was
//      added during the flush, so a later one is not lost.
//
// Under the PTL so that "reclaim cleared it, we see pte_none and skip it"
// cannot leave a stale entry behind once this path returns (commit
// 3ea277194daa, "mm, mprotect: flush TLB if potentially racing with a
// parallel reclaim leaving stale TLB entries"). Guarded by unmap-complete
// and protect-complete: reclaim sets the halves apart (tlbbatch.ts step 2).

import type { K } from '../step.js';
import { TLB_FLUSH_ALL } from '../state.js';
import type { MmId } from '../types.js';
import type { FlushCtx } from './flush_tlb_mm_range.js';

export function* flushTlbBatchedPending(k: K, mm: MmId) {
  const b = k.s.mms[mm]!.tlbFlushBatched;
  const pending = b.pending; // step 1: atomic_read()
  if (pending === b.flushed) return;
  const f: FlushCtx = { mm, start: 0, end: TLB_FLUSH_ALL, stride: 1, freedTables: true }; // step 2: flush_tlb_mm(), flush_tlb_mm_range(mm, 0, TLB_FLUSH_ALL, 0, true)
  yield* k.run('flush_tlb_mm_range', f);
  if (b.pending === pending) b.flushed = pending; // step 3: atomic_cmpxchg()
  yield { id: 'flush_tlb_batched_pending.atomic_cmpxchg' };
}
