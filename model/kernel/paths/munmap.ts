// munmap(): do_vmi_munmap() -> vms_complete_munmap_vmas() (mm/vma.c):
//
//   1. mmap_write_lock(); detach the VMAs of the range from the tree, so
//      no fault can map the range again from here on.
//   2. mmap_write_downgrade(): the zap and the table free run under the
//      read lock (commit dd2283f2605e), so faults elsewhere in the mm and
//      madvise() can run beside them.
//   3. tlb_gather_mmu(); unmap_vmas(): notifier start, zap, notifier end.
//   4. free_pgtables(): empty tables unhooked and queued (freed_tables).
//   5. tlb_finish_mmu(): flush (lazy CPUs included iff freed_tables), then
//      free pages, then tables after an RCU grace period.
//   6. mmap_read_unlock(); return: from here no usable translation of the
//      range may remain (unmap-complete).

import { step, STOP_STEP, type StepDef } from '../../policies/policy.js';
import { downgrade, lock, mmapLock, unlock } from '../locks.js';
import type { Vma } from '../state.js';
import type { MmId } from '../types.js';
import { detachRange } from '../vma.js';
import type { NotifierCtx } from './notifier.js';
import { unmapPageRange } from './zap.js';

export interface MunmapCtx {
  mm: MmId;
  opId: string;
  start: number;
  end: number;
  detached?: Vma[];
}

export const munmap: StepDef<MunmapCtx>[] = [
  step('do_vmi_munmap.mmap_write_lock', function* (k, c) {
    yield* lock(k, mmapLock(c.mm), 'w', 'do_vmi_munmap.mmap_write_lock');
  }),
  step('vms_gather_munmap_vmas', function* (k, c) {
    c.detached = detachRange(k.s.mms[c.mm]!, c.start, c.end);
    yield { id: 'vms_gather_munmap_vmas.detach' };
    if (c.detached.length === 0) {
      yield* unlock(k, mmapLock(c.mm), 'do_vmi_munmap.mmap_write_unlock');
      return STOP_STEP;
    }
  }),
  step('mmap_write_downgrade', function* (k, c) {
    downgrade(k.s, k.self, mmapLock(c.mm));
    yield { id: 'mmap_write_downgrade' };
  }),
  step('vms_clear_ptes.tlb_gather_mmu', function* (k, c) {
    yield* k.run('tlb_gather_mmu', { mm: c.mm });
  }),
  step('unmap_vmas', function* (k, c) {
    for (const v of c.detached!) {
      const n: NotifierCtx = { mm: c.mm, start: v.start, end: v.end, event: 'UNMAP' };
      yield* k.run('mmu_notifier_invalidate_range_start', n);
      yield* unmapPageRange(k, c.mm, c.opId, v.start, v.end);
      yield* k.run('mmu_notifier_invalidate_range_end', n);
    }
  }),
  step('vms_clear_ptes.free_pgtables', function* (k, c) {
    yield* k.run('free_pgtables', { mm: c.mm, start: c.start, end: c.end });
  }),
  step('vms_clear_ptes.tlb_finish_mmu', function* (k) {
    yield* k.run('tlb_finish_mmu', {});
  }),
  step('do_vmi_munmap.mmap_read_unlock', function* (k, c) {
    yield* unlock(k, mmapLock(c.mm), 'do_vmi_munmap.mmap_read_unlock');
  }),
];
