// KVM_CREATE_VM registering the VM's MMU notifier on the VMM's mm, at run
// time (the `kvm_create_vm VM` operation): kvm_dev_ioctl_create_vm() ->
// kvm_create_vm() -> kvm_init_mmu_notifier() -> mmu_notifier_register()
// (virt/kvm/kvm_main.c, mm/mmu_notifier.c __mmu_notifier_register(),
// mm/vma.c mm_take_all_locks(); its order read in the mm/vma.c and
// mm/mmap.c patches that quote it, eeff9a5d47f8's among them):
//
//   1. mmap_write_lock(mm): no fault under the mmap_lock, no munmap,
//      mprotect, mremap or madvise under it until step 5.
//   2. mm_take_all_locks(mm), under mm_all_locks_mutex:
//      a. vma_start_write() on every VMA: waits for the per-VMA-lock
//         readers (a fault, MADV_DONTNEED of one VMA since v6.17) and
//         keeps new ones out. eeff9a5d47f8 ("mm/mmap: prevent pagefault
//         handler from racing with mmu_notifier registration", Suren
//         Baghdasaryan, 2023-02, in the per-VMA-lock series of v6.4):
//         "Page fault handlers might need to fire MMU notifications while
//         a new notifier is being registered."
//      b. i_mmap_lock_write() of every file VMA's mapping, hugetlbfs
//         mappings first (vm_lock_mapping()): no rmap walk of a file
//         folio mapped here (reclaim, migration, hugetlb unsharing, and
//         the msharefs sharer list a pass-through walks) is between its
//         notifier start and end.
//      c. anon_vma_lock_write() of every anon_vma (vm_lock_anon_vma()):
//         the same for rmap walks of anonymous folios.
//   3. hlist_add_head_rcu(): the subscription joins mm->notifier_subscriptions.
//   4. mm_drop_all_locks(mm): the rmap locks, in the order taken.
//   5. mmap_write_unlock(mm), which ends the VMA write locks.
//
// The contract: every invalidate_range_start() on the mm that a
// subscription can see is paired with an end it also sees. An invalidation
// already between its start and end when the subscription joins would
// deliver only its end (KVM's mmu_invalidate_in_progress goes below zero,
// and a fault before that end sees no invalidation in progress and maps
// the page the end's caller is replacing). Steps 1 and 2 make the join
// wait for every caller of the mm's notifiers: each holds the mmap_lock,
// a VMA lock or an rmap lock across its start..end. Guarded by
// notifier-balance (an end without a start) and secondary-subset.
//
// mshare: a sharer's window VMA is a file VMA of the msharefs file, so
// step 2b takes that file's i_mmap_rwsem, the lock a host-side notifier
// pass-through takes to walk the sharers (paths/notifier.ts). It covers a
// pass-through only while the host holds it from start to end; none of the
// host mm's own locks is taken (hazard 19 (b), docs/mshare-hazards.md).
//
// Not modelled: the memslots are the setup's (KVM_SET_USER_MEMORY_REGION
// after creation changes no mapping of the mm), and the signal_pending()
// bail-outs of mm_take_all_locks() (no signal reaches a thread there).

import { step, type StepDef } from '../step.js';
import { anonVmaLock, iMmapRwsem, lock, mmapLock, unlock, vmaLock, vmaStartWrite } from '../locks.js';
import type { K } from '../step.js';
import { kvmSubscription } from '../kvm/state.js';
import { isVmHugetlbPage } from './hugetlb.js';
import type { MmId } from '../types.js';

export interface MmuNotifierRegisterCtx {
  mm: MmId;
  vm: string;
  /** Set by step 2: the rmap locks mm_take_all_locks() took, in order (mm_drop_all_locks() drops these). */
  taken?: string[];
}

/** The VM's subscription is on its mm's notifier list: created in the setup, or its kvm_create_vm has run. */
export const vmRegistered = (s: { mms: Record<string, { notifiers: string[] }> }, mm: MmId, vm: string): boolean => s.mms[mm]?.notifiers.includes(kvmSubscription(vm)) ?? false;

/** Ghost (coverage kvm_register_waited): the lock `name` is held by another actor, so taking it waits. */
function noteBusy(k: K, name: string): void {
  const l = k.s.locks[name];
  if (l && (l.holders.some((h) => h !== k.self) || (l.waiters?.length ?? 0) > 0)) k.s.tasks[k.self]!.registerWaited = true;
}

/** KVM_CREATE_VM for a VM the setup declares: the notifier registration is what the model runs (steps 1-5). */
export const kvmCreateVm: StepDef<MmuNotifierRegisterCtx>[] = [
  step('kvm_create_vm.kvm_init_mmu_notifier', function* (k, c) {
    yield* k.run('mmu_notifier_register', c);
  }),
  step('kvm_create_vm.fd_install', function* (k, c) {
    // the VM fd is the VMM's: the vCPU threads that wait for it may start (run/actors.ts)
    const t = k.s.tasks[k.self]!;
    const rest = (t.creates ?? []).filter((x) => x !== c.vm);
    if (rest.length > 0) t.creates = rest;
    else delete t.creates;
    yield { id: 'kvm_create_vm.fd_install' };
  }),
];

export const mmuNotifierRegister: StepDef<MmuNotifierRegisterCtx>[] = [
  step('mmu_notifier_register.mmap_write_lock', function* (k, c) {
    yield* lock(k, mmapLock(c.mm), 'w', 'mmu_notifier_register.mmap_write_lock');
  }),
  step('mmu_notifier_register.mm_take_all_locks', function* (k, c) {
    yield* k.run('mm_take_all_locks', c);
  }),
  step('mmu_notifier_register.hlist_add_head_rcu', function* (k, c) {
    k.s.mms[c.mm]!.notifiers.push(kvmSubscription(c.vm));
    yield { id: 'mmu_notifier_register.hlist_add_head_rcu' };
  }),
  step('mmu_notifier_register.mm_drop_all_locks', function* (k, c) {
    delete k.s.tasks[k.self]!.registerWaited;
    for (const l of [...(c.taken ?? [])].reverse()) yield* unlock(k, l, 'mm_drop_all_locks.unlock');
  }),
  step('mmu_notifier_register.mmap_write_unlock', function* (k, c) {
    yield* unlock(k, mmapLock(c.mm), 'mmu_notifier_register.mmap_write_unlock');
  }),
];

/** mm_take_all_locks() (mm/vma.c), mmap_lock held for write: steps 2a-2c. */
export const mmTakeAllLocks: StepDef<MmuNotifierRegisterCtx>[] = [
  step('mm_take_all_locks.vma_start_write', function* (k, c) {
    for (const v of [...k.s.mms[c.mm]!.vmas]) {
      noteBusy(k, vmaLock(c.mm, v.start));
      yield* vmaStartWrite(k, c.mm, v, 'mm_take_all_locks.vma_start_write');
    }
  }),
  step('mm_take_all_locks.vm_lock_mapping', function* (k, c) {
    const vmas = k.s.mms[c.mm]!.vmas;
    // hugetlbfs mappings first (their i_mmap_rwsem has its own lockdep class), then every other file mapping
    const files = [...vmas.filter((v) => isVmHugetlbPage(k.s, v)), ...vmas.filter((v) => v.file !== null && !isVmHugetlbPage(k.s, v))].map((v) => v.file!);
    c.taken = [];
    for (const f of [...new Set(files)]) {
      noteBusy(k, iMmapRwsem(f));
      yield* lock(k, iMmapRwsem(f), 'w', 'mm_take_all_locks.i_mmap_lock_write');
      c.taken.push(iMmapRwsem(f));
    }
  }),
  step('mm_take_all_locks.vm_lock_anon_vma', function* (k, c) {
    // the model has one anon_vma lock per mm, taken by the anon rmap walks (locks.ts anonVmaLock)
    if (!k.s.mms[c.mm]!.vmas.some((v) => v.anonVma)) return;
    noteBusy(k, anonVmaLock(c.mm));
    yield* lock(k, anonVmaLock(c.mm), 'w', 'mm_take_all_locks.anon_vma_lock_write');
    (c.taken ??= []).push(anonVmaLock(c.mm));
  }),
];
