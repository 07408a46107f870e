// madvise(MADV_DONTNEED): madvise_dontneed_single_vma() ->
// zap_page_range_single() (mm/madvise.c, mm/memory.c), under
// mmap_read_lock, so two threads of one mm can zap the same range at once:
//
//   1. madvise_lock(): a range inside one VMA takes that VMA's per-VMA read
//      lock (try_vma_read_lock(), v6.17, "mm: use per_vma lock for
//      MADV_DONTNEED"); a range over several VMAs or a hole, or a VMA that
//      is write-locked, falls back to mmap_read_lock(). Find the VMAs of
//      the range (a hole: -ENOMEM). (uffd-armed VMAs and process_madvise()
//      on another mm also fall back; neither is modelled.)
//   2. One mmu_gather for the call (madvise_init_tlb / madvise_finish_tlb,
//      v6.16): tlb_gather_mmu() (tlb_flush_pending++); per VMA notifier
//      start, zap, notifier end; tlb_finish_mmu(). The zap carries
//      zap_details.reclaim_pt: with CONFIG_PT_RECLAIM a PTE table the zap
//      covers whole (PMD_SIZE: 4 pages with fanout 4) and leaves empty is
//      freed through the same gather (pt_reclaim.ts).
//   3. The second of two concurrent zaps may find the PTEs already clear
//      and flush nothing; tlb_finish_mmu() sees tlb_flush_pending > 1 and
//      flushes the whole mm (B3) so that it too returns with the range
//      unmapped everywhere (unmap-complete).
//   4. madvise_unlock(): vma_end_read() or mmap_read_unlock(); return.
// An msharefs window takes the per-VMA lock like any VMA (lock_vma_under_rcu
// knows nothing of mshare; v3 bails out of the per-VMA path for faults
// only), except in the host-lock design, which keeps the mmap_lock as its
// fault path does. Its zap is unmap_page_range() on the window
// (zap.ts unmapMshareVma, by the `madvise` knob): nothing zapped (RFC v3
// early return, v1/v2 empty hook), or v3's unlink hook
// mshare_vm_op_unshare_page_range(), which clears the sharer's top-level
// entry and adds a P4D-stride range to this gather; tlb_finish_mmu()
// then flushes the sharer's mm, and its next fault relinks. A refused
// madvise fails in the syscall (actors.ts einval) before reaching here.

import { step, type StepDef } from '../step.js';
import { lock, mmapLock, release, unlock, vmaLock, vmaStartRead } from '../locks.js';
import type { MmId } from '../types.js';
import type { K } from '../step.js';
import type { Vma } from '../state.js';
import { span, type Config } from '../config.js';
import { sharerWindow, toHost } from '../mshare/msharefs.js';
import { findVma, vmasIn } from '../vma.js';
import type { NotifierCtx } from './notifier.js';
import { unmapMshareVma, unmapPageRange } from './zap.js';
import { isVmHugetlbPage, unmapHugetlbVma } from './hugetlb.js';

export interface MadviseCtx {
  mm: MmId;
  opId: string;
  start: number;
  end: number;
  result?: string;
  /** The per-VMA lock madvise_lock() took (MADVISE_VMA_READ_LOCK), if it did. */
  vmaLock?: string;
}

export const madviseDontneed: StepDef<MadviseCtx>[] = [
  step('madvise.mmap_read_lock', function* (k, c) {
    const v = findVma(k.s.mms[c.mm]!, c.start);
    const hostLock = v?.kind === 'mshare' && k.knob('madvise') === 'host-lock';
    if (v && c.end <= v.end && !hostLock && vmaStartRead(k, c.mm, v)) {
      c.vmaLock = vmaLock(c.mm, v.start);
      yield { id: 'madvise_lock.lock_vma_under_rcu' };
      return;
    }
    yield* lock(k, mmapLock(c.mm), 'r', 'madvise.mmap_read_lock');
  }),
  step('madvise_dontneed_single_vma', function* (k, c) {
    const vmas = vmasIn(k.s.mms[c.mm]!, c.start, c.end);
    // madvise_walk_vmas(): a hole in the range gives -ENOMEM, the mapped parts are still advised
    c.result = vmas.reduce((n, v) => n + (v.end - v.start), 0) === c.end - c.start ? 'ok' : 'ENOMEM';
    // mshare-v3-proposed: madvise on a range touching a window VMA fails, decided here under the lock, where
    // the VMAs are stable (an attach may have made the window after the call entered)
    if (vmas.some((v) => v.kind === 'mshare') && k.knob('madvise') === 'refused') {
      c.result = 'EINVAL';
      return;
    }
    const host = vmas.filter((v) => v.kind === 'mshare' && k.knob('madvise') === 'host-lock');
    for (const v of host) yield* dontneedInHost(k, c, v);
    const own = vmas.filter((v) => !host.includes(v));
    if (own.length === 0) return;
    yield* k.run('tlb_gather_mmu', { mm: c.mm });
    for (const v of own) {
      // v: the part of the VMA inside the range (vmasIn); unmap_single_vma() -> unmap_page_range()
      const { start, end } = v;
      const huge = isVmHugetlbPage(k.s, v) ? findVma(k.s.mms[c.mm]!, v.start)! : null;
      // zap_page_range_single() -> hugetlb_zap_begin(): the notifier range covers every PUD a shared PMD table may be unshared in
      const n: NotifierCtx = { mm: c.mm, ...(huge ? adjustRangeIfPmdSharingPossible(k.s.config, huge, start, end) : { start, end }), event: 'CLEAR' };
      yield* k.run('mmu_notifier_invalidate_range_start', n);
      if (v.kind === 'mshare') yield* unmapMshareVma(k, c.mm, c.opId, v, start, end, { reclaimPt: true });
      else if (isVmHugetlbPage(k.s, v)) yield* unmapHugetlbVma(k, c.mm, c.opId, findVma(k.s.mms[c.mm]!, v.start)!, start, end, false); // zap_page_range_single(): hugetlb_zap_begin() ..
      else yield* unmapPageRange(k, c.mm, c.opId, start, end, { reclaimPt: true }); // madvise_dontneed_single_vma()
      yield* k.run('mmu_notifier_invalidate_range_end', n);
    }
    yield* k.run('tlb_finish_mmu', {});
  }),
  step('madvise.mmap_read_unlock', function* (k, c) {
    if (c.vmaLock) {
      release(k.s, k.self, c.vmaLock);
      yield { id: 'madvise_unlock.vma_end_read' };
      return;
    }
    yield* unlock(k, mmapLock(c.mm), 'madvise.mmap_read_unlock');
  }),
];

/**
 * adjust_range_if_pmd_sharing_possible() (mm/hugetlb.c): a MAP_SHARED
 * hugetlb VMA spanning a whole PUD-aligned range may have its PMD table
 * shared, and huge_pmd_unshare() then clears the whole PUD entry: widen
 * [start, end) to PUD alignment inside that range.
 */
export function adjustRangeIfPmdSharingPossible(cfg: Config, vma: Vma, start: number, end: number): { start: number; end: number } {
  const pud = span(cfg, 3);
  const vStart = Math.ceil(vma.start / pud) * pud;
  const vEnd = Math.floor(vma.end / pud) * pud;
  if (!(vEnd > vStart) || end <= vStart || start >= vEnd) return { start, end };
  return { start: start > vStart ? Math.floor(start / pud) * pud : start, end: end < vEnd ? Math.ceil(end / pud) * pud : end };
}

/** The design where madvise through a sharer VMA takes the host's lock and zaps with the host's mmu_gather. */
function* dontneedInHost(k: K, c: MadviseCtx, v: Vma) {
  const w = sharerWindow(k.s, k.s.mms[c.mm]!, v.start)!;
  const host = w.file.host;
  const start = toHost(w.file, w.vma.start, v.start);
  const end = toHost(w.file, w.vma.start, v.end);
  yield* lock(k, mmapLock(host), 'r', 'madvise.host_mmap_read_lock_nested');
  yield* k.run('tlb_gather_mmu', { mm: host });
  const n: NotifierCtx = { mm: host, start, end, event: 'CLEAR' };
  yield* k.run('mmu_notifier_invalidate_range_start', n);
  yield* unmapPageRange(k, host, c.opId, start, end, { reclaimPt: true });
  yield* k.run('mmu_notifier_invalidate_range_end', n);
  yield* k.run('tlb_finish_mmu', {});
  yield* unlock(k, mmapLock(host), 'madvise.host_mmap_read_unlock');
}
