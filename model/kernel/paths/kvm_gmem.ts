// fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) on a guest_memfd
// (virt/kvm/guest_memfd.c kvm_gmem_fallocate() -> kvm_gmem_punch_hole(),
// read in torvalds/linux at 01f492e1817e):
//
//   1. filemap_invalidate_lock(inode->i_mapping): "Bindings must be stable
//      across invalidation to ensure the start+end are balanced."
//   2. kvm_gmem_invalidate_begin() -> __kvm_gmem_invalidate_begin() for
//      each VM's view of the file (kvm_gmem_for_each_file()): over the
//      memslots bound to the range (xa_for_each_range(&f->bindings)), on
//      the first one KVM_MMU_LOCK and kvm_mmu_invalidate_begin(); for each,
//      kvm_mmu_unmap_gfn_range() (the range added, the leaf SPTEs zapped),
//      with attr_filter kvm_gmem_get_invalidate_filter() (KVM_FILTER_SHARED
//      for INIT_SHARED; on a VM without mirrored TDP every filter is the
//      direct roots: tdp_mmu.h kvm_gfn_range_filter_to_root_types());
//      then kvm_flush_remote_tlbs() if anything was zapped, KVM_MMU_UNLOCK.
//      Guarded by no-freed-frame-reachable and secondary-subset (no SPTE
//      or usable guest-TLB entry outlives 3's free).
//   3. truncate_inode_pages_range(): each folio of the range leaves the
//      page cache and its reference goes (freed unless a fault in flight
//      holds fault->refcounted_page).
//   4. kvm_gmem_invalidate_end() -> __kvm_gmem_invalidate_end(): if the
//      range has bindings, KVM_MMU_LOCK, kvm_mmu_invalidate_end()
//      (mmu_invalidate_seq++, in_progress--), KVM_MMU_UNLOCK. A TDP fault
//      that sampled the seq before 2 and got the old folio retries
//      (paths/kvm_mmu.ts 4). Guarded by no-spte-in-window.
//   5. filemap_invalidate_unlock().
// The mm's MMU notifier takes no part: no VMA maps the file's pages.

import { putPage } from '../frames.js';
import { invalidateLock, kvmMmuLock, lock, unlock } from '../locks.js';
import { gmemToGfnRanges, type Vm } from '../kvm/state.js';
import { kvmMmuInvalidateBegin, kvmMmuInvalidateEnd, kvmMmuUnmapGfnRanges } from '../kvm/invalidate.js';
import { step, STOP_STEP, type K, type StepDef } from '../step.js';

export interface GmemPunchHoleCtx {
  file: string;
  /** Page offset and length of the hole. */
  offset: number;
  pages: number;
  opId?: string;
  /** The VMs whose memslots bind the file (one view each: struct gmem_file). */
  vms?: string[];
}

/** The VMs whose memslots are bound to `file` (kvm_gmem_for_each_file()). */
const viewsOf = (k: K, file: string): string[] => Object.keys(k.s.kvm?.vms ?? {}).filter((n) => k.s.kvm!.vms[n]!.memslots.some((m) => m.gmem?.file === file)).sort();

export interface GmemInvalidateCtx {
  vm: string;
  file: string;
  start: number;
  end: number;
  ranges?: { start: number; end: number }[];
  flush?: boolean;
}

const vmOf = (k: K, c: { vm: string }): Vm => k.s.kvm!.vms[c.vm]!;

/** __kvm_gmem_invalidate_begin() for one VM's view of the file. */
export const kvmGmemInvalidateBegin: StepDef<GmemInvalidateCtx>[] = [
  step('__kvm_gmem_invalidate_begin.kvm_mmu_lock', function* (k, c) {
    c.ranges = gmemToGfnRanges(vmOf(k, c), c.file, c.start, c.end);
    if (c.ranges.length === 0) return STOP_STEP;
    yield* lock(k, kvmMmuLock(c.vm), 'w', '__kvm_gmem_invalidate_begin.kvm_mmu_lock');
  }),
  step('__kvm_gmem_invalidate_begin.kvm_mmu_invalidate_begin', function* (k, c) {
    const vm = vmOf(k, c);
    (k.s.kvm!.openGmem ??= []).push({ actor: k.self, vm: c.vm }); // ghost, for notifier-balance
    kvmMmuInvalidateBegin(vm);
    yield { id: '__kvm_gmem_invalidate_begin.kvm_mmu_invalidate_begin' };
  }),
  step('__kvm_gmem_invalidate_begin.kvm_mmu_unmap_gfn_range', function* (k, c) {
    const vm = vmOf(k, c);
    c.flush = kvmMmuUnmapGfnRanges(vm, c.ranges!, k.s.ghost.clock);
    yield { id: c.flush ? '__kvm_gmem_invalidate_begin.tdp_mmu_zap_leafs' : '__kvm_gmem_invalidate_begin.kvm_mmu_unmap_gfn_range' };
  }),
  step('__kvm_gmem_invalidate_begin.kvm_flush_remote_tlbs', function* (k, c) {
    if (c.flush) yield* k.run('kvm_flush_remote_tlbs', { vm: c.vm });
  }),
  step('__kvm_gmem_invalidate_begin.kvm_mmu_unlock', function* (k, c) {
    yield* unlock(k, kvmMmuLock(c.vm), '__kvm_gmem_invalidate_begin.kvm_mmu_unlock');
  }),
];

/** __kvm_gmem_invalidate_end() for one VM's view of the file. */
export const kvmGmemInvalidateEnd: StepDef<GmemInvalidateCtx>[] = [
  step('__kvm_gmem_invalidate_end.kvm_mmu_lock', function* (k, c) {
    if (gmemToGfnRanges(vmOf(k, c), c.file, c.start, c.end).length === 0) return STOP_STEP; // xa_find(&f->bindings, ...) found none
    yield* lock(k, kvmMmuLock(c.vm), 'w', '__kvm_gmem_invalidate_end.kvm_mmu_lock');
  }),
  step('__kvm_gmem_invalidate_end.kvm_mmu_invalidate_end', function* (k, c) {
    const vm = vmOf(k, c);
    const open = k.s.kvm!.openGmem ?? [];
    const i = open.findIndex((o) => o.actor === k.self && o.vm === c.vm);
    if (i >= 0) open.splice(i, 1);
    kvmMmuInvalidateEnd(vm);
    yield { id: '__kvm_gmem_invalidate_end.kvm_mmu_invalidate_end' };
  }),
  step('__kvm_gmem_invalidate_end.kvm_mmu_unlock', function* (k, c) {
    yield* unlock(k, kvmMmuLock(c.vm), '__kvm_gmem_invalidate_end.kvm_mmu_unlock');
  }),
];

export const kvmGmemPunchHole: StepDef<GmemPunchHoleCtx>[] = [
  step('kvm_gmem_punch_hole.filemap_invalidate_lock', function* (k, c) {
    yield* lock(k, invalidateLock(c.file), 'w', 'kvm_gmem_punch_hole.filemap_invalidate_lock');
  }),
  step('kvm_gmem_invalidate_begin', function* (k, c) {
    c.vms = viewsOf(k, c.file);
    for (const vm of c.vms) yield* k.run('__kvm_gmem_invalidate_begin', { vm, file: c.file, start: c.offset, end: c.offset + c.pages });
  }),
  step('truncate_inode_pages_range', function* (k, c) {
    const file = k.s.files[c.file]!;
    for (let i = c.offset; i < c.offset + c.pages; i++) {
      const p = file.cache[i];
      if (p === null || p === undefined) continue;
      // truncate_inode_folio() -> filemap_remove_folio() under the folio lock: the page cache's reference goes
      file.cache[i] = null;
      putPage(k.s, p);
      yield { id: 'truncate_inode_pages_range.filemap_remove_folio' };
    }
  }),
  step('kvm_gmem_invalidate_end', function* (k, c) {
    for (const vm of c.vms!) yield* k.run('__kvm_gmem_invalidate_end', { vm, file: c.file, start: c.offset, end: c.offset + c.pages });
  }),
  step('kvm_gmem_punch_hole.filemap_invalidate_unlock', function* (k, c) {
    yield* unlock(k, invalidateLock(c.file), 'kvm_gmem_punch_hole.filemap_invalidate_unlock');
  }),
];
