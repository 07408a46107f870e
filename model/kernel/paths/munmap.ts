// munmap(): do_vmi_munmap() -> vms_complete_munmap_vmas() (mm/vma.c):
//
//   1. mmap_write_lock(); vma_start_write() on every VMA of the range
//      (waiting for per-VMA-lock readers: faults, MADV_DONTNEED), then
//      split and detach them from the tree, so no fault can map the range
//      again from here on. An msharefs VMA cannot be split (may_split ->
//      -EINVAL, before any VMA is locked).
//   2. mmap_write_downgrade(): the zap and the table free run under the
//      read lock (commit dd2283f2605e), so faults elsewhere in the mm and
//      madvise() can run beside them. do_munmap() from inside the kernel
//      (the mshare ioctls) keeps the write lock instead.
//   3. tlb_gather_mmu(); unmap_vmas(): notifier start, zap, notifier end.
//      An msharefs VMA is not zapped: the pages belong to the host; v3
//      unlinks the shared table here (the unmap_page_range hook).
//   4. free_pgtables(): unlink the VMAs from the file rmap (i_mmap), then
//      free empty tables (freed_tables); never through an msharefs link.
//   5. tlb_finish_mmu(): flush (lazy CPUs included iff freed_tables), then
//      free pages, then tables after an RCU grace period.
//   6. remove_vma(): fput; a shmem object with no mapping left is freed.
//   7. mmap_read_unlock(); return: from here no usable translation of the
//      range may remain (unmap-complete).

import { step, STOP_STEP, type StepDef } from '../step.js';
import { putPage } from '../frames.js';
import { downgrade, lock, mmapLock, unlock, vmaStartWrite } from '../locks.js';
import type { Mm, Vma } from '../state.js';
import type { MmId } from '../types.js';
import { detachRange, vmasTouched } from '../vma.js';
import type { NotifierCtx } from './notifier.js';
import { unmapPageRange } from './zap.js';
import { isVmHugetlbPage, unmapHugetlbVma } from './hugetlb.js';

export interface MunmapCtx {
  mm: MmId;
  opId: string;
  start: number;
  end: number;
  /** do_munmap() called with mmap_lock already held for write (no downgrade, no unlock). */
  locked?: boolean;
  /** exit_mmap(): the whole address space with tlb_gather_mmu_fullmm(). */
  fullmm?: boolean;
  detached?: Vma[];
  result?: string;
}

const splitsMshare = (mm: Mm, c: MunmapCtx) => mm.vmas.some((v) => v.kind === 'mshare' && v.start < c.end && v.end > c.start && (v.start < c.start || v.end > c.end));

export const munmap: StepDef<MunmapCtx>[] = [
  step('do_vmi_munmap.mmap_write_lock', function* (k, c) {
    if (!c.locked) yield* lock(k, mmapLock(c.mm), 'w', 'do_vmi_munmap.mmap_write_lock');
  }),
  // __split_vma() and the loop of vms_gather_munmap_vmas() write-lock each VMA before it changes
  step('vms_gather_munmap_vmas.vma_start_write', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    if (splitsMshare(mm, c)) return;
    for (const v of vmasTouched(mm, c.start, c.end)) yield* vmaStartWrite(k, c.mm, v, 'vms_gather_munmap_vmas.vma_start_write');
  }),
  step('vms_gather_munmap_vmas', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    if (splitsMshare(mm, c)) {
      c.result = 'EINVAL'; // msharefs may_split()
      c.detached = [];
    } else {
      c.detached = detachRange(mm, c.start, c.end);
    }
    yield { id: 'vms_gather_munmap_vmas.detach' };
    if (c.detached.length === 0) {
      if (!c.locked) yield* unlock(k, mmapLock(c.mm), 'do_vmi_munmap.mmap_write_unlock');
      return STOP_STEP;
    }
  }),
  step('mmap_write_downgrade', function* (k, c) {
    if (c.locked) return;
    downgrade(k.s, k.self, mmapLock(c.mm));
    yield { id: 'mmap_write_downgrade' };
  }),
  step('vms_clear_ptes.tlb_gather_mmu', function* (k, c) {
    yield* k.run('tlb_gather_mmu', { mm: c.mm, fullmm: c.fullmm === true });
  }),
  // unmap_vmas(): one notifier start/end pair around the zap of every VMA
  step('unmap_vmas', function* (k, c) {
    const n: NotifierCtx = { mm: c.mm, start: c.start, end: c.end, event: 'UNMAP' };
    yield* k.run('mmu_notifier_invalidate_range_start', n);
    for (const v of c.detached!) {
      if (isVmHugetlbPage(k.s, v)) yield* unmapHugetlbVma(k, c.mm, c.opId, v, v.start, v.end, true); // __hugetlb_zap_begin() .. __hugetlb_zap_end()
      else if (v.kind !== 'mshare') yield* unmapPageRange(k, c.mm, c.opId, v.start, v.end);
      else if (k.knob('unlinkPoint') === 'unmap_page_range') yield* k.run('mshare_vm_op_unshare_page_range', { mm: c.mm, vma: v });
    }
    yield* k.run('mmu_notifier_invalidate_range_end', n);
  }),
  step('vms_clear_ptes.free_pgtables', function* (k, c) {
    yield* k.run('free_pgtables', { mm: c.mm, start: c.start, end: c.end, vmas: c.detached! });
  }),
  step('vms_clear_ptes.tlb_finish_mmu', function* (k) {
    yield* k.run('tlb_finish_mmu', {});
  }),
  step('remove_vma', function* (k, c) {
    const s = k.s;
    for (const v of c.detached!) {
      // mshare 2026, listLeave 'after-unlink-flush': the window VMA's vm_ops->close leaves the sharer list after tlb_finish_mmu()
      if (v.kind === 'mshare' && k.knob('listLeave') === 'after-unlink-flush') yield* k.run('mshare_sharer_del', { mm: c.mm, file: v.file!, start: v.start });
      const f = v.file === null ? null : s.files[v.file];
      if (!f?.anonymous || Object.values(s.mms).some((m) => m.vmas.some((x) => x.file === f.name))) continue;
      for (let i = 0; i < f.cache.length; i++) {
        if (f.cache[i] !== null) putPage(s, f.cache[i]!); // shmem_evict_inode(): the object's pages go
        f.cache[i] = null;
      }
      yield { id: 'remove_vma.fput' };
    }
  }),
  step('do_vmi_munmap.mmap_read_unlock', function* (k, c) {
    if (!c.locked) yield* unlock(k, mmapLock(c.mm), 'do_vmi_munmap.mmap_read_unlock');
  }),
];
