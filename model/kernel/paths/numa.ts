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
//   2. A later access takes a hinting fault: do_numa_page() restores the
//      PTE under the PTL (no migration is modelled).
//
// Invisible to the ideal memory. Guarded by lock-discipline: host PTEs
// written under a sharer's locks only (research/mshare.md hazard 14).

import { step, STOP_STEP, type StepDef } from '../step.js';
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
    const t = k.s.frames[c.table!]!;
    const i = tableIndex(k.s.config, c.vpn, 1);
    const e = t.entries![i];
    if (!e?.protNone || e.migration) return; // pte_same() failed: someone else fixed it
    t.entries![i] = { ...e, protNone: false }; // pte_modify(vma->vm_page_prot)
    note(k, 'pte-write', c.mm, `pte ${c.vpn}`, t.pfn);
    yield { id: 'do_numa_page.set_pte' };
  }),
  step('do_numa_page.pte_unmap_unlock', function* (k, c) {
    yield* unlock(k, ptlOf(c.table!), 'do_numa_page.pte_unmap_unlock');
  }),
];
