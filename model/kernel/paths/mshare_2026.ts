// mshare as presented at LSFMM+BPF 2026 (LWN "Revisiting mshare", Jonathan
// Corbet, 2026-05-13, https://lwn.net/Articles/1072333/; research
// update-2026.md A1 and D). Nothing of it is posted: every function below
// that is not a mainline or v3 function carries the name the talk gives
// the system call (mshare_create, mshare_attach, mshare_map, mshare_advise,
// mshare_protect) or, where the talk names nothing, a model name marked
// "unposted". The kernel side is "substantially the same" as v3, so the
// link (find_shared_vma() under P->page_table_lock with a recheck,
// pt_share_count), the unlink hook (mshare_vm_op_unshare_page_range()) and
// the host mm are v3's (paths/mshare.ts, mshare/msharefs.ts).
//
// Ordering contract:
//   create   mshare_create(): a region with a task-less host mm, owned by
//            the caller; ftruncate() sizes it once. How other processes
//            get the fd is not described: the model lets every process of
//            the scenario use it (inherited or passed).
//   attach   mshare_attach(fd, 0, size, addr): under P's mmap_lock (write)
//            a window VMA at an aligned address, linked into i_mmap; with
//            listJoin 'at-attach' P joins the sharer list here, before any
//            fault can link the shared table. With 'after-link' it joins
//            in find_shared_vma() after set_p4d and the PTL release.
//   host     mshare_map / mshare_advise (MADV_DONTNEED) / mshare_protect:
//            __do_mmap, madvise_dontneed, mprotect on the host mm under
//            the host's locks, so the zap or change uses the host's
//            mmu_gather; its flush_tlb_mm_range(host) reaches
//            mmu_notifier_arch_invalidate_secondary_tlbs(host) ->
//            mshare_invalidate_tlbs() -> mshare_flush_sharers().
//   flush    mshare_flush_sharers() (unposted): under the list spinlock
//            (a flush may run under the host's PTL, so not i_mmap_rwsem),
//            flush_tlb_mm_range(sharer, its window's range, stride,
//            freed_tables) for one sharer at a time, each with its own
//            tlb_gen and cpumask; with listNotifiers 'start-end' also the
//            sharer's invalidate_range_start/end (the talk: notifiers
//            "did not work", so by default only the secondary TLBs).
//   detach   munmap (or exit) of a window: v3's unlink hook clears P's
//            entry and records a P4D range in P's gather; the flush runs
//            at tlb_finish_mmu(). With listLeave 'after-unlink-flush' P
//            leaves the list in remove_vma() (the window's vm_ops->close),
//            after that flush; with 'at-unlink', in the hook, before it.
//   teardown the owner's close(fd) (filp_flush, unposted) or exit
//            (exit_mshare()): the owner is cleared, then the whole region
//            is unmapped in the host, which flushes every listed sharer:
//            "the mappings in every other process are removed".
//
// Guarded by unmap-complete, no-freed-frame-reachable,
// no-freed-table-reachable, share-count and lock-discipline.

import { step, STOP_STEP, type StepDef } from '../step.js';
import { iMmapRwsem, lock, mmapLock, mmLockSeq, mshareListLock, unlock } from '../locks.js';
import { createMsharefs, insertWindowVma, newInnerVma } from '../mshare/msharefs.js';
import { TLB_FLUSH_ALL } from '../state.js';
import type { MmId, Prot } from '../types.js';
import type { FlushCtx } from './flush_tlb_mm_range.js';
import { doMunmapHost } from './mshare.js';
import type { NotifierCtx } from './notifier.js';

export interface Mshare2026Ctx {
  /** The mm the call works on: the caller's for attach, the host's for the others. */
  mm: MmId;
  /** The calling process. */
  caller: MmId;
  opId: string;
  file: string;
  start: number;
  end: number;
  offset: number;
  pages: number;
  prot: Prot | null;
  result?: string;
}

/** mshare_create(O_CLOEXEC): a new region, owned by the caller for its lifetime; unsized until ftruncate(). */
export const mshareCreate: StepDef<{ caller: MmId; file: string }>[] = [
  step('mshare_create', function* (k, c) {
    const f = createMsharefs(k.s, c.file, c.caller);
    f.size = null;
    f.list = [];
    f.closedBy = [];
    yield { id: 'mshare_create' };
  }),
];

/** ftruncate(fd, size): the region's size, set once (do_ftruncate -> the region's setattr, unposted). */
export const mshareFtruncate: StepDef<{ file: string; pages: number }>[] = [
  step('do_ftruncate.mshare_setattr', function* (k, c) {
    k.s.mshare[c.file]!.size = c.pages;
    yield { id: 'do_ftruncate.mshare_setattr' };
  }),
];

/** mshare_attach(fd, offset, size, addr): a window VMA in the caller. */
export const mshareAttach: StepDef<Mshare2026Ctx>[] = [
  step('mshare_attach.mmap_write_lock', function* (k, c) {
    yield* lock(k, mmapLock(c.mm), 'w', 'mshare_attach.mmap_write_lock');
  }),
  step('mshare_attach.window_vma', function* (k, c) {
    c.result = insertWindowVma(k.s, c.mm, c.file, c.start, c.end, mmLockSeq(k.s, c.mm));
    if (c.result === 'ok') yield { id: 'mshare_attach.window_vma' };
  }),
  step('mshare_attach.vma_link_file', function* (k, c) {
    if (c.result !== 'ok') return;
    yield* lock(k, iMmapRwsem(c.file), 'w', 'mshare_attach.i_mmap_lock_write');
    k.s.mshare[c.file]!.sharers.push({ mm: c.mm, start: c.start });
    yield* unlock(k, iMmapRwsem(c.file), 'mshare_attach.i_mmap_unlock_write');
  }),
  step('mshare_attach.sharer_add', function* (k, c) {
    if (c.result === 'ok' && k.knob('listJoin') === 'at-attach') yield* k.run('mshare_sharer_add', { mm: c.mm, file: c.file, start: c.start });
  }),
  step('mshare_attach.mmap_write_unlock', function* (k, c) {
    yield* unlock(k, mmapLock(c.mm), 'mshare_attach.mmap_write_unlock');
  }),
];

export interface SharerListCtx {
  mm: MmId;
  file: string;
  /** The window VMA's start: one list entry per window. */
  start: number;
}

/** Add a window's mm to the region's sharer list (unposted; the talk: "a linked list of all processes sharing the region"). */
export const mshareSharerAdd: StepDef<SharerListCtx>[] = [
  step('mshare_sharer_add.spin_lock', function* (k, c) {
    yield* lock(k, mshareListLock(c.file), 'w', 'mshare_sharer_add.spin_lock');
  }),
  step('mshare_sharer_add', function* (k, c) {
    const list = (k.s.mshare[c.file]!.list ??= []);
    if (list.some((x) => x.mm === c.mm && x.start === c.start)) return;
    list.push({ mm: c.mm, start: c.start });
    yield { id: 'mshare_sharer_add.list_add' };
  }),
  step('mshare_sharer_add.spin_unlock', function* (k, c) {
    yield* unlock(k, mshareListLock(c.file), 'mshare_sharer_add.spin_unlock');
  }),
];

/** Remove a window's mm from the sharer list (unposted). */
export const mshareSharerDel: StepDef<SharerListCtx>[] = [
  step('mshare_sharer_del.spin_lock', function* (k, c) {
    yield* lock(k, mshareListLock(c.file), 'w', 'mshare_sharer_del.spin_lock');
  }),
  step('mshare_sharer_del', function* (k, c) {
    const f = k.s.mshare[c.file]!;
    const before = f.list?.length ?? 0;
    f.list = (f.list ?? []).filter((x) => !(x.mm === c.mm && x.start === c.start));
    if (f.list.length === before) return;
    f.lastLeft = { mm: c.mm, start: c.start };
    yield { id: 'mshare_sharer_del.list_del' };
  }),
  step('mshare_sharer_del.spin_unlock', function* (k, c) {
    yield* unlock(k, mshareListLock(c.file), 'mshare_sharer_del.spin_unlock');
  }),
];

/**
 * The host-side flush reaching the sharers (unposted): "when a TLB flush
 * happens, that list is traversed and each process is flushed
 * individually". One flush_tlb_mm_range() per list entry, for the part of
 * the host range its window shows, so each sharer's own tlb_gen and
 * mm_cpumask decide which CPUs and PCID slots are flushed.
 */
export const mshareFlushSharers: StepDef<FlushCtx>[] = [
  step('mshare_flush_sharers.spin_lock', function* (k, c) {
    const f = Object.values(k.s.mshare).find((x) => x.host === c.mm);
    if (!f) return STOP_STEP;
    yield* lock(k, mshareListLock(f.name), 'w', 'mshare_flush_sharers.spin_lock');
  }),
  step('mshare_flush_sharers', function* (k, c) {
    const f = Object.values(k.s.mshare).find((x) => x.host === c.mm)!;
    for (const sh of [...(f.list ?? [])]) {
      const all = c.end === TLB_FLUSH_ALL;
      const lo = all ? 0 : sh.start + (c.start - f.start);
      const hi = all ? TLB_FLUSH_ALL : sh.start + (c.end - f.start);
      yield { id: 'mshare_flush_sharers.next' };
      if (k.knob('listNotifiers') === 'start-end') {
        // no secondary MMU is modelled (notifier.ts): the calls take no step
        const n: NotifierCtx = { mm: sh.mm, start: lo, end: all ? sh.start + f.pages : hi, event: 'UNMAP' };
        yield* k.run('mmu_notifier_invalidate_range_start', n);
        yield* k.run('mmu_notifier_invalidate_range_end', n);
      }
      const freedTables = k.knob('listFreedTables') === 'never' ? false : c.freedTables;
      yield* k.run('flush_tlb_mm_range', { mm: sh.mm, start: lo, end: hi, stride: c.stride, freedTables });
    }
  }),
  step('mshare_flush_sharers.spin_unlock', function* (k, c) {
    const f = Object.values(k.s.mshare).find((x) => x.host === c.mm)!;
    yield* unlock(k, mshareListLock(f.name), 'mshare_flush_sharers.spin_unlock');
  }),
];

/** mshare_map(): an mmap() inside the region, on the host mm (v3's MSHAREFS_CREATE_MAPPING as a system call). */
export const mshareMap: StepDef<Mshare2026Ctx>[] = [
  step('mshare_map.mmap_write_lock', function* (k, c) {
    yield* lock(k, mmapLock(c.mm), 'w', 'mshare_map.mmap_write_lock');
  }),
  step('mshare_map.__do_mmap', function* (k, c) {
    const f = k.s.mshare[c.file]!;
    const host = k.s.mms[f.host]!;
    if (host.vmas.some((v) => v.start < c.end && v.end > c.start)) yield* doMunmapHost(k, f.host, c.opId, c.start, c.end); // MAP_FIXED
    host.vmas.push({ ...newInnerVma(k.s, f, c.offset, c.pages, c.prot!), vmLockSeq: mmLockSeq(k.s, f.host) });
    host.vmas.sort((a, b) => a.start - b.start);
    c.result = 'ok';
    yield { id: 'mshare_map.mmap_region' };
  }),
  step('mshare_map.mmap_write_unlock', function* (k, c) {
    yield* unlock(k, mmapLock(c.mm), 'mshare_map.mmap_write_unlock');
  }),
];

/** mshare_advise(MADV_DONTNEED): madvise on the host mm, zapped with the host's mmu_gather (with PT_RECLAIM it may free PTE tables inside the shared hierarchy, update-2026 B8). */
export const mshareAdvise: StepDef<Mshare2026Ctx>[] = [
  step('mshare_advise', function* (k, c) {
    yield* k.run('madvise_dontneed', c);
  }),
];

/** mshare_protect(): mprotect on the host mm. */
export const mshareProtect: StepDef<Mshare2026Ctx>[] = [
  step('mshare_protect', function* (k, c) {
    yield* k.run('mprotect', c);
  }),
];

/**
 * The owner's close(fd): the region disappears and every other process's
 * mappings are removed. The talk does not say which file operation does
 * it; only ->flush(), which close() calls every time, sees the owner's
 * close while other processes still hold the file, so the model names it
 * filp_flush (unposted). Then as exit_mshare(): clear the owner, unmap the
 * whole region in the host under its mmap_lock.
 */
export const mshareOwnerClose: StepDef<Mshare2026Ctx>[] = [
  step('filp_flush.mshare_owner_close', function* (k, c) {
    const f = k.s.mshare[c.file]!;
    f.owner = null;
    (f.closedBy ??= []).push(c.caller);
    yield { id: 'filp_flush.mshare_clear_owner' };
    yield* lock(k, mmapLock(f.host), 'w', 'filp_flush.mshare_mmap_write_lock');
    yield* doMunmapHost(k, f.host, c.opId, f.start, f.start + f.pages);
    yield* unlock(k, mmapLock(f.host), 'filp_flush.mshare_mmap_write_unlock');
    c.result = 'ok';
  }),
];

/** close(fd) by a process other than the owner: its file reference goes, nothing else. */
export const mshareCloseFd: StepDef<{ caller: MmId; file: string }>[] = [
  step('close_fd', function* (k, c) {
    (k.s.mshare[c.file]!.closedBy ??= []).push(c.caller);
    yield { id: 'close_fd' };
  }),
];
