// KVM's invalidation bookkeeping (virt/kvm/kvm_main.c), shared by the two
// sources of an invalidation the model has: the mm's MMU notifier
// (paths/kvm_notifier.ts, kvm_mmu_notifier_invalidate_range_start/end)
// and guest_memfd's punch hole (paths/kvm_gmem.ts,
// __kvm_gmem_invalidate_begin/end). Each is called under mmu_lock held
// for write, in this order: begin, then range_add and the zap of each
// range, then (after the flush, the free) end. The TDP fault's
// mmu_invalidate_retry_gfn() reads what they write (paths/kvm_mmu.ts).

import type { Vm } from './state.js';

/** kvm_mmu_invalidate_begin(): the in-progress count up; the first one opens an empty range. */
export function kvmMmuInvalidateBegin(vm: Vm): void {
  if (vm.mmuInvalidateInProgress++ === 0) {
    vm.mmuInvalidateRange = null;
    vm.rangeAt = {};
  }
}

/** kvm_mmu_invalidate_range_add(): widen the open range to [start, end); `clock` is when each gfn joined it (ghost). */
export function kvmMmuInvalidateRangeAdd(vm: Vm, r: { start: number; end: number }, clock: number): void {
  const cur = vm.mmuInvalidateRange;
  vm.mmuInvalidateRange = cur ? { start: Math.min(cur.start, r.start), end: Math.max(cur.end, r.end) } : { ...r };
  for (let g = r.start; g < r.end; g++) vm.rangeAt[g] ??= clock;
}

/**
 * kvm_tdp_mmu_unmap_gfn_range() -> tdp_mmu_zap_leafs() on every root,
 * invalidated ones too (they stay reachable by the notifier until zapped,
 * tdp_mmu_zap_root()'s comment): drop the SPTEs of gfns [start, end);
 * whether a flush is due. "Zappings SPTEs in invalid roots doesn't require
 * a TLB flush": no vCPU enters the guest on one, and kvm_mmu_load()
 * flushes before a vCPU uses a root's frame again.
 */
export function kvmZapGfnRange(vm: Vm, start: number, end: number): boolean {
  let zapped = false;
  for (const g of Object.keys(vm.sptes).map(Number)) {
    if (g < start || g >= end) continue;
    delete vm.sptes[g];
    zapped = true;
  }
  for (const r of vm.roots ?? []) {
    if (!r.invalid || !r.sptes) continue;
    for (const g of Object.keys(r.sptes).map(Number)) if (g >= start && g < end) delete r.sptes[g];
  }
  return zapped;
}

/**
 * kvm_mmu_unmap_gfn_range() over each gfn range of one invalidation, after
 * kvm_mmu_invalidate_range_add() of it: whether any SPTE went (a flush is due).
 */
export function kvmMmuUnmapGfnRanges(vm: Vm, ranges: readonly { start: number; end: number }[], clock: number): boolean {
  let flush = false;
  for (const r of ranges) {
    kvmMmuInvalidateRangeAdd(vm, r, clock);
    if (kvmZapGfnRange(vm, r.start, r.end)) flush = true;
  }
  return flush;
}

/** kvm_mmu_invalidate_end(): the seq up (smp_wmb() before the count goes down), the count down; the last one closes the range. */
export function kvmMmuInvalidateEnd(vm: Vm): void {
  vm.mmuInvalidateSeq++;
  if (--vm.mmuInvalidateInProgress === 0) {
    vm.mmuInvalidateRange = null;
    vm.rangeAt = {};
  }
}
