// The deferred ("batched") TLB flush of reclaim, per task (current->tlb_ubc,
// struct tlbflush_unmap_batch; mm/rmap.c, arch/x86/mm/tlb.c,
// arch/x86/include/asm/tlbbatch.h):
//
//   1. should_defer_flush() -> arch_tlbbatch_should_defer(): defer only if
//      mm_cpumask(mm) holds a CPU other than this one; otherwise the caller
//      flushes at once (flush_tlb_range()).
//   2. set_tlb_ubc_flush_pending(mm, pteval), after the PTE was cleared
//      under the PTL: nothing if !pte_accessible(mm, pteval) (present, or
//      PROT_NONE with a flush pending); else arch_tlbbatch_add_pending():
//      inc_mm_tlb_gen(mm) (a CPU the batch flush skips, lazy or switched
//      away, catches up by tlb_gen at its next switch-in), OR mm_cpumask(mm)
//      into the batch cpumask, mmu_notifier_arch_invalidate_secondary_tlbs();
//      then flush_required, atomic_inc(&mm->tlb_flush_batched) (the pending
//      half), and writable if the PTE was dirty.
//   3. try_to_unmap_flush() -> arch_tlbbatch_flush(): one full flush
//      (get_flush_tlb_info(NULL, 0, TLB_FLUSH_ALL, 0, false,
//      TLB_GENERATION_INVALID)) to the accumulated cpumask: flush_tlb_multi()
//      when it holds another CPU (should_flush_tlb() skips lazy CPUs), else
//      flush_tlb_func() locally with IRQs off; then clear the cpumask,
//      flush_required and writable. try_to_unmap_flush_dirty() does the
//      same only if writable.
//
// Until step 3 a CPU of the batch may still read or write through its TLB
// entry for a PTE step 2 cleared: reclaim frees nothing before step 3
// (reclaim.ts step 6), and whoever else takes that PTL and relies on
// pte_none first calls flush_tlb_batched_pending() (3ea277194daa). Guarded
// by no-freed-frame-reachable (a free before step 3), protect-complete and
// unmap-complete (a later mprotect or munmap that skips the catch-up).
// INVLPGB (invlpgb_flush_all_nonglobals()) is not modelled here: with
// config invlpgb the batch still flushes by IPI (docs/fidelity.md).

import { step, type StepDef } from '../step.js';
import type { K } from '../step.js';
import type { FlushInfo, Pte, Task } from '../state.js';
import { TLB_FLUSH_ALL } from '../state.js';
import type { MmId } from '../types.js';
import { fence } from '../store_buffer.js';
import { runLocalIrqsOff, sendIpis, shouldFlushTlb, waitForIpis } from './flush_tlb_mm_range.js';
import { svaInvalidateAllNow } from './sva.js';

/** flush_tlb_info.new_tlb_gen of a flush that is not tied to one mm's generation. */
export const TLB_GENERATION_INVALID = 0;

export type TlbUbc = NonNullable<Task['tlbUbc']>;

export function tlbUbcOf(k: K): TlbUbc {
  return (k.s.tasks[k.self]!.tlbUbc ??= { cpumask: [], flushRequired: false, writable: false });
}

/** Step 1: arch_tlbbatch_should_defer(). */
export function shouldDeferFlush(k: K, mm: MmId): boolean {
  return k.s.mms[mm]!.cpumask.some((c) => c !== k.cpu);
}

/** x86 pte_accessible(): present, or PROT_NONE while a flush may be outstanding. */
export function pteAccessible(k: K, mm: MmId, pte: Pte): boolean {
  return !pte.protNone || k.s.mms[mm]!.tlbFlushPending > 0;
}

/** Step 2: set_tlb_ubc_flush_pending() with arch_tlbbatch_add_pending(); one step. */
export function* setTlbUbcFlushPending(k: K, mm: MmId, pteval: Pte, incTlbGen = true, id = 'set_tlb_ubc_flush_pending') {
  if (!pteAccessible(k, mm, pteval)) return;
  const m = k.s.mms[mm]!;
  const ubc = tlbUbcOf(k);
  if (incTlbGen) {
    m.tlbGen++; // inc_mm_tlb_gen()
    fence(k.s.cpus[k.cpu]!); // atomic64_inc_return() is a LOCK RMW
  }
  ubc.cpumask = [...new Set([...ubc.cpumask, ...m.cpumask])].sort((a, b) => a - b); // cpumask_or()
  svaInvalidateAllNow(k.s, mm); // mmu_notifier_arch_invalidate_secondary_tlbs(mm, 0, -1UL): an SVA device's whole ATC (paths/sva.ts)
  ubc.flushRequired = true;
  m.tlbFlushBatched.pending++; // atomic_inc(&mm->tlb_flush_batched)
  if (pteval.dirty) ubc.writable = true;
  yield { id };
}

export interface TlbBatchFlushCtx {
  /** try_to_unmap_flush_dirty(): only if a writable entry was deferred. */
  dirtyOnly: boolean;
  skip?: boolean;
  info?: FlushInfo;
  sent?: number[];
  runLocal?: boolean;
}

/** Step 3: try_to_unmap_flush() / try_to_unmap_flush_dirty() -> arch_tlbbatch_flush(). */
export const tryToUnmapFlush: StepDef<TlbBatchFlushCtx>[] = [
  step('try_to_unmap_flush', function* (k, c) {
    const ubc = tlbUbcOf(k);
    c.skip = !ubc.flushRequired || (c.dirtyOnly && !ubc.writable);
    if (c.skip) return;
    c.info = { mm: null, start: 0, end: TLB_FLUSH_ALL, stride: 1, freedTables: false, newTlbGen: TLB_GENERATION_INVALID, trimCpumask: false };
    const others = ubc.cpumask.filter((x) => x !== k.cpu);
    if (others.length > 0) {
      // flush_tlb_multi(&batch->cpumask, info): should_flush_tlb() per target (info->mm NULL: lazy CPUs skipped)
      const targets = others.filter((x) => shouldFlushTlb(k.s, k.s.cpus[x]!, c.info!, k.cpu));
      c.sent = sendIpis(k, targets, 'flush_tlb_func', c.info);
      c.runLocal = ubc.cpumask.includes(k.cpu) && shouldFlushTlb(k.s, k.s.cpus[k.cpu]!, c.info, k.cpu);
    } else {
      c.sent = [];
      c.runLocal = ubc.cpumask.includes(k.cpu);
    }
    yield { id: 'arch_tlbbatch_flush.send' };
  }),
  step('arch_tlbbatch_flush.local', function* (k, c) {
    if (!c.skip && c.runLocal) yield* runLocalIrqsOff(k, 'flush_tlb_func', { info: c.info! });
  }),
  step('arch_tlbbatch_flush.wait', function* (k, c) {
    if (!c.skip) yield* waitForIpis(k, c.sent!, 'arch_tlbbatch_flush.wait');
  }),
  step('try_to_unmap_flush.done', function* (k, c) {
    if (c.skip) return;
    const ubc = tlbUbcOf(k);
    ubc.cpumask = []; // cpumask_clear(&batch->cpumask)
    ubc.flushRequired = false;
    ubc.writable = false;
    yield { id: 'try_to_unmap_flush.done' };
  }),
];
