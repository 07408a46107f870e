// mremap(addr, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, new_addr) (mm/mremap.c,
// the 2025 rewrite by Lorenzo Stoakes: do_mremap() -> remap_move() ->
// mremap_to() -> move_vma()), for the `mremap OLD NEW pages=N` operation:
//
//   1. check_mremap_params(): overlapping ranges -> -EINVAL, before any lock.
//   2. mmap_write_lock_killable(): no fault under the mmap_lock, no other
//      VMA change, until step 9.
//   3. remap_move() (d23cb648e365, "mm/mremap: permit mremap() move of
//      multiple VMAs", v6.17): every VMA piece of [addr, addr + len) moves
//      to the same offset of the target, gaps kept; no VMA at addr ->
//      -EFAULT. Per piece, mremap_to():
//   4. do_munmap() of the piece's target (MREMAP_FIXED), the write lock
//      kept (munmap.ts with `locked`).
//   5. move_vma(): vma_start_write() on the source VMA ("We don't want
//      racing faults": a fault under a per-VMA lock would map a page into
//      the source range behind the move; Suren Baghdasaryan, "mm/mremap:
//      write-lock VMA while remapping it to a new address range", v6.4).
//   6. copy_vma() (mm/vma.c): vm_area_dup() of the piece at the target,
//      vma_link(): vma_start_write() on the new VMA BEFORE it enters the
//      tree (vma_iter_store_new()) and the file's i_mmap, so a per-VMA-lock
//      fault can never run in the new range while its PTEs arrive. A new
//      VMA comes after the old one in rmap order, so need_rmap_locks is
//      false (the model never merges VMAs).
//   7. move_page_tables() (mremap_tables.ts): notifier start (UNMAP, the
//      source range), whole PUD or PMD entries where both addresses and the
//      extent allow (move_normal_pud / move_normal_pmd, under the rmap
//      locks), else move_ptes() under both PTLs with the flush of the source
//      range before either PTL goes (eb66ae030829); notifier end.
//   8. unmap_source_vma(): do_vmi_munmap() of the source piece, write lock
//      kept: it finds no PTE (all moved) and frees the source's empty
//      tables (free_pgtables, with its flush).
//   9. mmap_write_unlock(); return: the source range maps nothing from here
//      (unmap-complete), the data reads back at the target (read-value).
//
// Not modelled: resizing (old_len != new_len: shrink, expand in place),
// MREMAP_DONTUNMAP, moves without MREMAP_FIXED (the kernel picks the
// address), VMA merging at the target (copy_vma()'s vma_merge_new_range(),
// which is where need_rmap_locks can be true), hugetlb VMAs
// (move_hugetlb_page_tables(): refused before the call, actors.ts) and
// msharefs VMAs (refused for every mshare policy by validation: the posted
// series says only that a partial mremap fails in may_split()).

import { step, STOP_STEP, type StepDef } from '../step.js';
import { lock, mmapLock, unlock, vmaStartWrite } from '../locks.js';
import type { Vma } from '../state.js';
import type { MmId, Vpn } from '../types.js';
import { findVma } from '../vma.js';
import { linkFileVma } from './hugetlb.js';
import type { MunmapCtx } from './munmap.js';
import type { MovePageTablesCtx } from './mremap_tables.js';

export interface MremapCtx {
  mm: MmId;
  opId: string;
  /** Source range [start, end) and target `to`. */
  start: number;
  end: number;
  to: number;
  result?: string;
}

/** One VMA piece of remap_move(): its source and target, and the VMAs move_vma() works on. */
export interface MoveVmaCtx {
  mm: MmId;
  opId: string;
  addr: number;
  len: number;
  newAddr: number;
  vma?: Vma;
  newVma?: Vma;
  result?: string;
}

export const mremap: StepDef<MremapCtx>[] = [
  step('check_mremap_params', function* (k, c) {
    const len = c.end - c.start;
    if (!(c.start < c.to + len && c.to < c.end)) return; // vrm_overlaps()
    c.result = 'EINVAL';
    yield { id: 'check_mremap_params.overlap' };
    return STOP_STEP;
  }),
  step('do_mremap.mmap_write_lock_killable', function* (k, c) {
    yield* lock(k, mmapLock(c.mm), 'w', 'do_mremap.mmap_write_lock_killable');
  }),
  step('remap_move', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    // for_each_vma_range(): the VMAs of [start, end) as the loop meets them (the tree changes behind it,
    // but only in the target range and at pieces already moved)
    let seen = false;
    for (let at = c.start; at < c.end; ) {
      const vma = mm.vmas.find((x) => x.end > at && x.start < c.end);
      if (!vma) break;
      if (!seen && vma.start > c.start) break; // no gap permitted at the start of the range: -EFAULT
      const addr = Math.max(vma.start, at);
      const len = Math.min(c.end, vma.end) - addr;
      const piece: MoveVmaCtx = { mm: c.mm, opId: c.opId, addr, len, newAddr: c.to + (addr - c.start) };
      yield* k.run('mremap_to', piece);
      if (piece.result) {
        c.result = piece.result;
        break;
      }
      seen = true;
      at = addr + len;
    }
    if (!seen && !c.result) c.result = 'EFAULT';
    yield { id: seen ? 'remap_move.done' : 'remap_move.efault' };
  }),
  step('do_mremap.mmap_write_unlock', function* (k, c) {
    yield* unlock(k, mmapLock(c.mm), 'do_mremap.mmap_write_unlock');
  }),
];

export const mremapTo: StepDef<MoveVmaCtx>[] = [
  // MREMAP_FIXED: do_munmap(mm, new_addr, new_len) under the write lock
  step('mremap_to.do_munmap', function* (k, c) {
    const u: MunmapCtx = { mm: c.mm, opId: c.opId, start: c.newAddr, end: c.newAddr + c.len, locked: true };
    yield* k.run('munmap', u);
  }),
  step('mremap_to.vma_lookup', function* (k, c) {
    c.vma = findVma(k.s.mms[c.mm]!, c.addr);
    if (c.vma) return;
    c.result = 'EFAULT';
    yield { id: 'mremap_to.vma_lookup_efault' };
    return STOP_STEP;
  }),
  step('move_vma.vma_start_write', function* (k, c) {
    yield* vmaStartWrite(k, c.mm, c.vma!, 'move_vma.vma_start_write');
  }),
  // copy_vma(): vm_area_dup() at the target, pgoff following the piece, anon_vma_clone()
  step('copy_vma.vm_area_dup', function* (k, c) {
    const v = c.vma!;
    c.newVma = { start: c.newAddr as Vpn, end: (c.newAddr + c.len) as Vpn, prot: { ...v.prot }, kind: v.kind, file: v.file, pgoff: v.pgoff + (c.addr - v.start) };
    if (v.anonVma) c.newVma.anonVma = true;
    yield { id: 'copy_vma.vm_area_dup' };
  }),
  step('vma_link.vma_start_write', function* (k, c) {
    yield* vmaStartWrite(k, c.mm, c.newVma!, 'vma_link.vma_start_write');
  }),
  // vma_iter_store_new(), vma_link_file(): visible to lock_vma_under_rcu() and the rmap from here
  step('vma_link', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    mm.vmas = [...mm.vmas, c.newVma!].sort((a, b) => a.start - b.start);
    linkFileVma(k.s, c.mm, c.newVma!);
    yield { id: 'vma_link.vma_iter_store_new' };
  }),
  step('move_vma.move_page_tables', function* (k, c) {
    const p: MovePageTablesCtx = { mm: c.mm, opId: c.opId, oldAddr: c.addr, newAddr: c.newAddr, oldEnd: c.addr + c.len, lenIn: c.len, file: c.vma!.file, anon: c.vma!.kind === 'anon', oldStart: c.vma!.start, newStart: c.newAddr };
    yield* k.run('move_page_tables', p);
  }),
  // unmap_source_vma(): do_vmi_munmap(..., unlock = false)
  step('move_vma.unmap_source_vma', function* (k, c) {
    const u: MunmapCtx = { mm: c.mm, opId: c.opId, start: c.addr, end: c.addr + c.len, locked: true };
    yield* k.run('munmap', u);
  }),
];
