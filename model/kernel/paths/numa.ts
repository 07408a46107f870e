// NUMA hinting (kernel/sched/fair.c task_numa_work() ->
// change_prot_numa(), mm/memory.c do_numa_page()):
//
//   1. mmap_read_lock(); for each VMA (an msharefs VMA only if the design
//      scans it): tlb_gather_mmu(), change_protection(MM_CP_PROT_NUMA)
//      makes present PTEs PROT_NONE through this mm's tables (for an
//      msharefs VMA: the host's shared tables) between
//      mmu_notifier_invalidate_range_start() and _end() (change_pud_range(),
//      MMU_NOTIFY_PROTECTION_VMA: KVM zaps the range), tlb_finish_mmu()
//      flushes this mm only.
//   2. A later access takes a hinting fault: do_numa_page() under the PTL;
//      if the PTE changed meanwhile (!pte_same()) nothing. Else
//      numa_migrate_check() picks a target node: a schedule choice
//      (numa_migrate_check, drawn only when migration is generated), false
//      by default. No target: restore the PTE (numa_rebuild_single_mapping()).
//      A target: migrate_misplaced_folio_prepare() isolates the folio (not
//      the zero page, not a folio another migration holds), pte_unmap_unlock(),
//      migrate_misplaced_folio() -> migrate_pages(MIGRATE_ASYNC,
//      MR_NUMA_MISPLACED): one migrate_pages_batch() pass (paths/migrate.ts
//      steps 2-7, TTU_BATCH_FLUSH); remove_migration_pte() maps the new
//      folio with vm_page_prot, which ends the hinting. If it fails,
//      putback, take the PTL again and restore the PTE if it is still the
//      one the fault saw.
//
// Invisible to the ideal memory. Guarded by lock-discipline: host PTEs
// written under a sharer's locks only (research/mshare.md hazard 14).

import { step, STOP_STEP, type StepDef } from '../step.js';
import { getPage, isZeroPfn, putPage } from '../frames.js';
import type { MigrateBatchCtx } from './migrate.js';
import { pteOffsetMapLock } from '../pte_offset_map.js';
import { lock, mmapLock, note, ptlOf, unlock } from '../locks.js';
import { pteTableRanges, tableIndex } from '../pagetable.js';
import type { MmId } from '../types.js';
import type { ChangePteCtx } from './mprotect.js';
import type { FaultCtx } from './fault.js';
import { isVmHugetlbPage } from './hugetlb.js';
import type { NotifierCtx } from './notifier.js';

export const taskNumaWork: StepDef<{ mm: MmId }>[] = [
  step('task_numa_work.mmap_read_lock', function* (k, c) {
    yield* lock(k, mmapLock(c.mm), 'r', 'task_numa_work.mmap_read_lock');
  }),
  step('change_prot_numa', function* (k, c) {
    for (const v of [...k.s.mms[c.mm]!.vmas]) {
      if (v.kind === 'mshare' && k.knob('numa') !== 'allowed') continue; // vma_is_mshare(): skipped
      if (isVmHugetlbPage(k.s, v)) continue; // task_numa_work(): is_vm_hugetlb_page() VMAs are skipped
      if (!v.prot.r) continue; // vma_is_accessible()
      yield* k.run('tlb_gather_mmu', { mm: c.mm });
      // change_pud_range(): mmu_notifier_invalidate_range_start(MMU_NOTIFY_PROTECTION_VMA) around the walk, as for mprotect
      const n: NotifierCtx = { mm: c.mm, start: v.start, end: v.end, event: 'PROTECTION_VMA' };
      yield* k.run('mmu_notifier_invalidate_range_start', n);
      for (const [addr, end] of pteTableRanges(k.s.config, v.start, v.end)) {
        const t: ChangePteCtx = { mm: c.mm, addr, end, prot: v.prot, numa: true };
        yield* k.run('change_pte_range', t);
      }
      yield* k.run('mmu_notifier_invalidate_range_end', n);
      yield* k.run('tlb_finish_mmu', {});
    }
  }),
  step('task_numa_work.mmap_read_unlock', function* (k, c) {
    yield* unlock(k, mmapLock(c.mm), 'task_numa_work.mmap_read_unlock');
  }),
];

export const doNumaPage: StepDef<FaultCtx>[] = [
  step('do_numa_page.pte_offset_map_lock', function* (k, c) {
    const t = yield* pteOffsetMapLock(k, c.mm, c.vpn, 'do_numa_page.pte_offset_map_lock');
    if (t === null) return STOP_STEP;
    c.table = t;
  }),
  step('do_numa_page', function* (k, c) {
    const s = k.s;
    const t = s.frames[c.table!]!;
    const i = tableIndex(s.config, c.vpn, 1);
    const e = t.entries![i];
    if (!e?.protNone || e.migration || e.swap !== undefined) return; // pte_same() failed: someone else fixed it
    // numa_migrate_check(): a target node (schedule choice); migrate_misplaced_folio_prepare(): folio_isolate_lru()
    if (!isZeroPfn(s, e.pfn) && !e.huge && k.choose('numa_migrate_check') && !s.frames[e.pfn]!.locked && s.frames[e.pfn]!.swapSlot === undefined) {
      const src = e.pfn;
      getPage(s, src);
      yield { id: 'migrate_misplaced_folio_prepare' };
      yield* unlock(k, ptlOf(c.table!), 'do_numa_page.pte_unmap_unlock');
      const v = c.vma!;
      const b: MigrateBatchCtx = { mm: c.mm, src, async: true, ...(v.kind === 'shared' ? { file: v.file!, index: v.pgoff + (c.vpn - v.start) } : {}) };
      yield* k.run('migrate_pages_batch', b); // migrate_misplaced_folio(): migrate_pages(MIGRATE_ASYNC, MR_NUMA_MISPLACED)
      if (!b.failed) return STOP_STEP; // TNF_MIGRATED: the new PTE ended the hinting
      putPage(s, src); // putback_movable_pages()
      yield { id: 'migrate_misplaced_folio.putback' };
      // TNF_MIGRATE_FAIL: pte_offset_map_lock() again, restore the PTE if it is still the one the fault saw
      const t2 = yield* pteOffsetMapLock(k, c.mm, c.vpn, 'do_numa_page.pte_offset_map_lock');
      if (t2 === null) return STOP_STEP;
      c.table = t2;
      const now = s.frames[t2]!.entries![i];
      if (!now || now.pfn !== e.pfn || !now.protNone || now.migration) return;
    }
    const e2 = s.frames[c.table!]!.entries![i]!;
    s.frames[c.table!]!.entries![i] = { ...e2, protNone: false }; // pte_modify(vma->vm_page_prot)
    note(k, 'pte-write', c.mm, `pte ${c.vpn}`, c.table!);
    yield { id: 'do_numa_page.set_pte' };
  }),
  step('do_numa_page.pte_unmap_unlock', function* (k, c) {
    yield* unlock(k, ptlOf(c.table!), 'do_numa_page.pte_unmap_unlock');
  }),
];
