// fork(): copy_process() -> copy_mm() -> dup_mm() -> dup_mmap() (kernel/fork.c,
// mm/mmap.c since v6.15), for the `fork CHILD` operation:
//
//   1. mm_init() -> mm_alloc_pgd(): the child's mm with its own PGD and
//      context id (so its own PCID/ASID once it runs: switch_mm.ts).
//   2. mmap_write_lock_killable(oldmm): no fault under the mmap_lock, no
//      munmap/mprotect/madvise of the parent until step 8.
//   3. vma_start_write() on every parent VMA (fb49c455323f, "fork: lock
//      VMAs of the parent process when forking", 2023): a fault under a
//      per-VMA lock would otherwise run beside copy_page_range() and see
//      some PTEs copied and others not.
//   4. mmap_write_lock_nested(mm): the child's lock.
//   5. For each VMA: vm_area_dup() (anon_vma_fork(), the file VMA linked in
//      i_mmap) and copy_page_range() when vma_needs_copy(): only VMAs with
//      an anon_vma. Shared file and shmem VMAs are not copied: the child
//      faults them in. copy_page_range() (copy_page_range.ts) write-protects
//      the parent's private anonymous PTEs, inside a notifier
//      invalidate_range_start/end (MMU_NOTIFY_PROTECTION_PAGE) and without
//      any flush.
//   6. mmap_write_unlock(mm).
//   7. flush_tlb_mm(oldmm): from here no CPU keeps a writable entry of a
//      page step 5 made COW-shared. Before it, a thread of the parent on
//      another CPU may still write through its TLB into the page the child
//      now maps: allowed, the fork has not returned (the ideal memory may
//      linearize the fork after that write).
//   8. mmap_write_unlock(oldmm).
//   9. wake_up_new_task(): the child's threads may run (actors.ts).
//
// Guarded by read-value (the child reads what the parent held when the
// fork took effect; a write the parent makes after it stays private:
// steps 3 and 7), lock-discipline (PTE writes of both mms under their
// PTLs and mmap_locks) and no-freed-frame-reachable.

import { step, type StepDef } from '../step.js';
import { allocTable } from '../frames.js';
import { lock, mmapLock, unlock, vmaStartWrite } from '../locks.js';
import { TLB_FLUSH_ALL, type Vma } from '../state.js';
import { mmId, type MmId } from '../types.js';
import type { FlushCtx } from './flush_tlb_mm_range.js';
import { linkFileVma } from './hugetlb.js';
import type { CopyPageRangeCtx } from './copy_page_range.js';

export interface ForkCtx {
  /** The parent (current->mm, oldmm). */
  mm: MmId;
  child: string;
}

export const dupMmap: StepDef<ForkCtx>[] = [
  step('mm_alloc_pgd', function* (k, c) {
    const s = k.s;
    const id = mmId(c.child);
    const pgd = allocTable(s, id, 4); // pgd_alloc()
    s.mms[id] = { id, pgd: pgd.pfn, ctxId: s.nextCtxId++, tlbGen: 0, cpumask: [], tlbFlushPending: 0, vmas: [], notifiers: [], exiting: false, tlbFlushBatched: { pending: 0, flushed: 0 } };
    yield { id: 'mm_alloc_pgd' };
  }),
  step('dup_mmap.mmap_write_lock_killable', function* (k, c) {
    yield* lock(k, mmapLock(c.mm), 'w', 'dup_mmap.mmap_write_lock_killable');
  }),
  step('dup_mmap.vma_start_write', function* (k, c) {
    for (const v of [...k.s.mms[c.mm]!.vmas]) yield* vmaStartWrite(k, c.mm, v, 'dup_mmap.vma_start_write');
  }),
  step('dup_mmap.mmap_write_lock_nested', function* (k, c) {
    yield* lock(k, mmapLock(mmId(c.child)), 'w', 'dup_mmap.mmap_write_lock_nested');
  }),
  step('dup_mmap.copy_vmas', function* (k, c) {
    const s = k.s;
    const child = s.mms[c.child]!;
    for (const v of [...s.mms[c.mm]!.vmas]) {
      const tmp: Vma = { start: v.start, end: v.end, prot: { ...v.prot }, kind: v.kind, file: v.file, pgoff: v.pgoff }; // vm_area_dup()
      if (v.anonVma) tmp.anonVma = true; // anon_vma_fork()
      child.vmas.push(tmp);
      linkFileVma(s, child.id, tmp); // vma_interval_tree_insert_after() under i_mmap_lock_write
      // an mshare window: the child's copy joins the msharefs file's i_mmap like any shared file VMA
      // (research/mshare.md 2.7); mshare 2026's sharer list only through vm_ops->open (knob listFork)
      const region = tmp.kind === 'mshare' ? s.mshare[tmp.file!]! : null;
      region?.sharers.push({ mm: child.id, start: tmp.start, forked: true });
      yield { id: 'dup_mmap.vm_area_dup' };
      if (region?.list && k.knob('listFork') === 'vm-open') yield* k.run('mshare_sharer_add', { mm: child.id, file: region.name, start: tmp.start });
      if (!v.anonVma) continue; // vma_needs_copy(): nothing to copy, the child faults the pages in
      const cp: CopyPageRangeCtx = { src: c.mm, dst: child.id, start: v.start, end: v.end };
      yield* k.run('copy_page_range', cp);
    }
  }),
  step('dup_mmap.mmap_write_unlock', function* (k, c) {
    yield* unlock(k, mmapLock(mmId(c.child)), 'dup_mmap.mmap_write_unlock');
  }),
  step('dup_mmap.flush_tlb_mm', function* (k, c) {
    const f: FlushCtx = { mm: c.mm, start: 0, end: TLB_FLUSH_ALL, stride: 1, freedTables: true }; // flush_tlb_mm(oldmm)
    yield* k.run('flush_tlb_mm_range', f);
  }),
  step('dup_mmap.mmap_write_unlock_oldmm', function* (k, c) {
    yield* unlock(k, mmapLock(c.mm), 'dup_mmap.mmap_write_unlock_oldmm');
  }),
  step('wake_up_new_task', function* (k, c) {
    const t = k.s.tasks[k.self]!;
    const rest = (t.forks ?? []).filter((x) => x !== c.child);
    if (rest.length > 0) t.forks = rest;
    else delete t.forks;
    yield { id: 'wake_up_new_task' };
  }),
];
