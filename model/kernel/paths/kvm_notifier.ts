// KVM's MMU notifier (virt/kvm/kvm_main.c kvm_mmu_notifier_ops), called
// by mmu_notifier_invalidate_range_start() / _end() / mmu_notifier_release()
// of the VMM's mm (paths/notifier.ts):
//
// kvm_mmu_notifier_invalidate_range_start():
//   1. mn_active_invalidate_count++ (under mn_invalidate_lock): memslot
//      updates wait until the matching end (52ac8b358b0c).
//   2. kvm_handle_hva_range(): for the memslots the hva range overlaps,
//      on the first one KVM_MMU_LOCK (write) and kvm_mmu_invalidate_begin()
//      (in_progress++; the range reset to INVALID_GPA if first).
//      A guest_memfd-backed slot is walked too, by its userspace_addr
//      (kvm_for_each_memslot_in_hva_range()), with attr_filter
//      KVM_FILTER_SHARED ("HVA-based notifications aren't relevant to
//      private mappings"), which on x86 without mirrored TDP
//      (kvm_gfn_range_filter_to_root_types()) is the direct roots: its
//      SPTEs are zapped although they map the file's pages, not the hva's
//      (docs/kvm.md, guest_memfd).
//   3. kvm_mmu_unmap_gfn_range(): kvm_mmu_invalidate_range_add() widens
//      the range, then kvm_unmap_gfn_range() zaps the leaf SPTEs
//      (tdp_mmu_zap_leafs()).
//   4. If anything was zapped, kvm_flush_remote_tlbs() (paths/kvm_flush.ts)
//      before mmu_lock is dropped: when start returns, no SPTE and no
//      usable guest-TLB entry maps the range (I5). Guarded by
//      secondary-subset, no-freed-frame-reachable and no-spte-in-window.
//   5. KVM_MMU_UNLOCK.
// kvm_mmu_notifier_invalidate_range_end():
//   6. KVM_MMU_LOCK (write); kvm_mmu_invalidate_end(): mmu_invalidate_seq++,
//      smp_wmb(), in_progress-- (the range reset when it reaches 0); unlock.
//      A fault that sampled the seq before the end retries. Guarded by
//      notifier-balance and no-spte-in-window.
//   7. mn_active_invalidate_count--.
// kvm_mmu_notifier_release() (from exit_mmap(), before any page is freed):
//   8. kvm_flush_shadow_all() -> kvm_arch_flush_shadow_all(): under
//      mmu_lock (write) zap every SPTE, every root's page table queued for
//      freeing (kvm_tdp_mmu_zap_all(), paths/kvm_tdp_root.ts), and flush
//      remote TLBs; then
//      mn_hlist_release() unlinks the subscription (hlist_del_init_rcu()),
//      so the exit's own start/end calls do not reach KVM.

import { kvmMmuLock, lock, unlock } from '../locks.js';
import { hvaToGfnRanges, kvmSubscription, srcuReadLock, srcuReadUnlock, type Vm } from '../kvm/state.js';
import { kvmMmuInvalidateBegin, kvmMmuInvalidateEnd, kvmMmuUnmapGfnRanges, kvmZapGfnRange } from '../kvm/invalidate.js';
import { step, STOP_STEP, type K, type StepDef } from '../step.js';
import type { MmId } from '../types.js';
import { tdpMmuZapRoot } from './kvm_tdp_root.js';

export interface KvmInvalidateCtx {
  vm: string;
  start: number;
  end: number;
  ranges?: { start: number; end: number }[];
  flush?: boolean;
}

const vmOf = (k: K, c: { vm: string }): Vm => k.s.kvm!.vms[c.vm]!;

export const kvmMmuNotifierInvalidateRangeStart: StepDef<KvmInvalidateCtx>[] = [
  step('kvm_mmu_notifier_invalidate_range_start', function* (k, c) {
    vmOf(k, c).mnActiveInvalidateCount++;
    c.ranges = hvaToGfnRanges(vmOf(k, c), c.start, c.end);
    if (c.ranges.length > 0) srcuReadLock(k.s.kvm!, k.self, c.vm); // __kvm_handle_hva_range(): the memslot walk and its handler under kvm->srcu
    yield { id: 'kvm_mmu_notifier_invalidate_range_start' };
    if (c.ranges.length === 0) return STOP_STEP;
  }),
  step('kvm_handle_hva_range.kvm_mmu_lock', function* (k, c) {
    yield* lock(k, kvmMmuLock(c.vm), 'w', 'kvm_handle_hva_range.kvm_mmu_lock');
  }),
  step('kvm_mmu_invalidate_begin', function* (k, c) {
    kvmMmuInvalidateBegin(vmOf(k, c));
    yield { id: 'kvm_mmu_invalidate_begin' };
  }),
  step('kvm_mmu_unmap_gfn_range', function* (k, c) {
    const vm = vmOf(k, c);
    c.flush = kvmMmuUnmapGfnRanges(vm, c.ranges!, k.s.ghost.clock);
    yield { id: c.flush ? 'tdp_mmu_zap_leafs' : 'kvm_mmu_unmap_gfn_range' };
  }),
  step('kvm_handle_hva_range.flush_on_ret', function* (k, c) {
    if (c.flush) yield* k.run('kvm_flush_remote_tlbs', { vm: c.vm });
  }),
  step('kvm_handle_hva_range.kvm_mmu_unlock', function* (k, c) {
    srcuReadUnlock(k.s.kvm!, k.self, c.vm);
    yield* unlock(k, kvmMmuLock(c.vm), 'kvm_handle_hva_range.kvm_mmu_unlock');
  }),
];

export const kvmMmuNotifierInvalidateRangeEnd: StepDef<KvmInvalidateCtx>[] = [
  // The SRCU read side is its own step before the mmu_lock wait, as in
  // range_start: code before a wait must not write state (explore replays
  // it; campaigns/explore/blocked_pure.test.ts).
  step('kvm_mmu_notifier_invalidate_range_end', function* (k, c) {
    c.ranges = hvaToGfnRanges(vmOf(k, c), c.start, c.end);
    if (c.ranges.length === 0) return;
    srcuReadLock(k.s.kvm!, k.self, c.vm); // __kvm_handle_hva_range(): the memslot walk and its handler under kvm->srcu
    yield { id: 'kvm_mmu_notifier_invalidate_range_end' };
  }),
  step('kvm_mmu_notifier_invalidate_range_end.kvm_mmu_lock', function* (k, c) {
    if (c.ranges!.length === 0) return;
    yield* lock(k, kvmMmuLock(c.vm), 'w', 'kvm_mmu_notifier_invalidate_range_end.kvm_mmu_lock');
  }),
  step('kvm_mmu_invalidate_end', function* (k, c) {
    if (c.ranges!.length === 0) return;
    kvmMmuInvalidateEnd(vmOf(k, c));
    yield { id: 'kvm_mmu_invalidate_end' };
    srcuReadUnlock(k.s.kvm!, k.self, c.vm);
    yield* unlock(k, kvmMmuLock(c.vm), 'kvm_mmu_notifier_invalidate_range_end.kvm_mmu_unlock');
  }),
  step('kvm_mmu_notifier_invalidate_range_end.mn_active_invalidate_count', function* (k, c) {
    vmOf(k, c).mnActiveInvalidateCount--;
    yield { id: 'kvm_mmu_notifier_invalidate_range_end.mn_active_invalidate_count' };
  }),
];

export interface KvmReleaseCtx {
  vm: string;
  mm: MmId;
  flush?: boolean;
}

export const kvmMmuNotifierRelease: StepDef<KvmReleaseCtx>[] = [
  step('kvm_mmu_notifier_release.kvm_mmu_lock', function* (k, c) {
    yield* lock(k, kvmMmuLock(c.vm), 'w', 'kvm_mmu_notifier_release.kvm_mmu_lock');
  }),
  step('kvm_arch_flush_shadow_all', function* (k, c) {
    const vm = vmOf(k, c);
    c.flush = kvmZapGfnRange(vm, 0, Number.MAX_SAFE_INTEGER);
    for (const r of vm.roots ?? []) tdpMmuZapRoot(k.s, vm, r); // kvm_tdp_mmu_zap_all(): the page tables go too
    vm.released = true;
    yield { id: 'kvm_arch_flush_shadow_all' };
    if (c.flush) yield* k.run('kvm_flush_remote_tlbs', { vm: c.vm });
  }),
  step('kvm_mmu_notifier_release.kvm_mmu_unlock', function* (k, c) {
    yield* unlock(k, kvmMmuLock(c.vm), 'kvm_mmu_notifier_release.kvm_mmu_unlock');
  }),
  step('mn_hlist_release', function* (k, c) {
    const mm = k.s.mms[c.mm]!;
    mm.notifiers = mm.notifiers.filter((n) => n !== kvmSubscription(c.vm));
    yield { id: 'mn_hlist_release' };
  }),
];
