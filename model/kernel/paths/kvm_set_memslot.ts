// KVM_SET_USER_MEMORY_REGION(2) with memory_size 0: a memslot deleted
// while the VM runs (virt/kvm/kvm_main.c kvm_vm_ioctl_set_memory_region()
// -> kvm_set_memory_region() -> kvm_set_memslot(KVM_MR_DELETE), read in
// torvalds/linux through the search tool). Ordering contract:
//
//   1. mutex_lock(&kvm->slots_lock): one memslot update at a time.
//      id_to_memslot(): no such slot (or one already deleted) is -EINVAL.
//      (slots_arch_lock, held from here to the rcu_assign_pointer() of 2,
//      serializes against arch code that changes memslots without
//      slots_lock; the model has none, so it is not modelled.)
//   2. kvm_invalidate_memslot(): the INVALID copy of the slot becomes the
//      active one through kvm_swap_active_memslots(), which first waits
//      until kvm->mn_active_invalidate_count is zero ("Do not store the new
//      memslots while there are invalidations in progress, otherwise the
//      locking in invalidate_range_start and invalidate_range_end will be
//      unbalanced": 52ac8b358b0c; the notifier raises the count at start
//      and drops it at end, paths/kvm_notifier.ts), then
//      rcu_assign_pointer(), then synchronize_srcu_expedited(): every
//      vCPU fault that looked the old, valid slot up has finished (a fault
//      that finds the INVALID copy retries: paths/kvm_mmu.ts 1), and so has
//      every notifier callback walking the memslots in
//      __kvm_handle_hva_range().
//   3. kvm_arch_flush_shadow_memslot(): on x86 with KVM_X86_QUIRK_SLOT_ZAP_ALL
//      (enabled by default; arch/x86/kvm/mmu/mmu.c), kvm_mmu_zap_all_fast():
//      under mmu_lock for write every root is invalidated and every vCPU
//      gets KVM_REQ_MMU_FREE_OBSOLETE_ROOTS through kvm_make_all_cpus_request(),
//      which kicks those in guest mode and waits for them; after the unlock
//      kvm_tdp_mmu_zap_invalidated_roots() zaps the invalidated roots and
//      queues their tables for freeing (paths/kvm_tdp_root.ts R1-R4).
//   4. kvm_delete_memslot(): kvm_swap_active_memslots() again (the same
//      wait, the slot leaves the active memslots, synchronize_srcu).
//      After it no lookup finds the slot: a guest access to its gfns is
//      MMIO, and the MMU notifier no longer walks it.
//   5. kvm_commit_memory_region() -> kvm_free_memslot() -> kvm_gmem_unbind()
//      for a guest_memfd slot: under filemap_invalidate_lock() the binding
//      leaves the file's xarray ("Bindings must be stable across
//      invalidation", paths/kvm_gmem.ts 1).
//   6. mutex_unlock(&kvm->slots_lock).
// Guarded by secondary-subset (no SPTE of a gfn outside every memslot) and
// notifier-balance (a begin and its end see the same memslots).

import { invalidateLock, kvmSlotsLock, lock, unlock } from '../locks.js';
import type { Memslot, Vm } from '../kvm/state.js';
import { step, type K, type StepDef } from '../step.js';

export interface KvmSetMemslotCtx {
  vm: string;
  /** The memslot's index in the VM's memslots. */
  slot: number;
  /** No such slot: -EINVAL after step 1. */
  einval?: boolean;
}

const vmOf = (k: K, c: { vm: string }): Vm => k.s.kvm!.vms[c.vm]!;
const slotOf = (k: K, c: KvmSetMemslotCtx): Memslot => vmOf(k, c).memslots[c.slot]!;

/** synchronize_srcu_expedited(&kvm->srcu) waits while a vCPU of the VM is inside a fault (paths/kvm_mmu.ts) or the VM's notifier walks its memslots (paths/kvm_notifier.ts). */
const srcuReaders = (k: K, vm: string): boolean => k.s.kvm!.faultsInFlight.some((a) => k.s.kvm!.vcpus[a]?.vm === vm) || (k.s.kvm!.srcuReaders ?? []).some((r) => r.vm === vm);

/** kvm_swap_active_memslots(): wait for the notifier's invalidations to end, publish `change`, then wait out the SRCU readers. */
function* kvmSwapActiveMemslots(k: K, c: KvmSetMemslotCtx, caller: string, change: (m: Memslot) => void) {
  const vm = vmOf(k, c);
  if (k.decide('kvm_swap_active_memslots.mn_active_invalidate_count', vm.mnActiveInvalidateCount > 0, { vm: c.vm, count: vm.mnActiveInvalidateCount })) {
    // the step is taken once the wait is over: it names a delete that met an invalidation in flight
    yield { id: `${caller}.mn_active_invalidate_count`, wait: () => vm.mnActiveInvalidateCount === 0 };
    yield { id: `${caller}.mn_active_invalidate_count` };
  }
  change(slotOf(k, c));
  yield { id: `${caller}.rcu_assign_pointer` };
  if (srcuReaders(k, c.vm)) {
    yield { id: `${caller}.synchronize_srcu_expedited`, wait: () => !srcuReaders(k, c.vm) };
    yield { id: `${caller}.synchronize_srcu_expedited` };
  }
}

export const kvmSetMemslotDelete: StepDef<KvmSetMemslotCtx>[] = [
  step('kvm_vm_ioctl_set_memory_region.slots_lock', function* (k, c) {
    yield* lock(k, kvmSlotsLock(c.vm), 'w', 'kvm_vm_ioctl_set_memory_region.slots_lock');
    const m = vmOf(k, c).memslots[c.slot];
    if (!m || m.deleted) {
      c.einval = true; // id_to_memslot(): !old || !old->npages
      yield { id: 'kvm_set_memory_region.einval' };
    }
  }),
  step('kvm_invalidate_memslot', function* (k, c) {
    if (c.einval) return;
    yield* kvmSwapActiveMemslots(k, c, 'kvm_invalidate_memslot', (m) => {
      m.invalid = true;
    });
  }),
  step('kvm_arch_flush_shadow_memslot', function* (k, c) {
    if (c.einval) return;
    yield* k.run('kvm_mmu_zap_all_fast', { vm: c.vm }); // paths/kvm_tdp_root.ts R1-R3
  }),
  step('kvm_delete_memslot', function* (k, c) {
    if (c.einval) return;
    yield* kvmSwapActiveMemslots(k, c, 'kvm_delete_memslot', (m) => {
      m.deleted = true;
    });
  }),
  step('kvm_free_memslot.kvm_gmem_unbind', function* (k, c) {
    const m = c.einval ? undefined : slotOf(k, c);
    if (!m?.gmem) return;
    yield* lock(k, invalidateLock(m.gmem.file), 'w', 'kvm_gmem_unbind.filemap_invalidate_lock');
    m.gmem.unbound = true; // xa_store_range(&f->bindings, start, end - 1, NULL)
    yield { id: 'kvm_gmem_unbind' };
    yield* unlock(k, invalidateLock(m.gmem.file), 'kvm_gmem_unbind.filemap_invalidate_unlock');
  }),
  step('kvm_vm_ioctl_set_memory_region.slots_unlock', function* (k, c) {
    yield* unlock(k, kvmSlotsLock(c.vm), 'kvm_vm_ioctl_set_memory_region.slots_unlock');
  }),
];
