// The TDP MMU's roots and table pages: how a vCPU loads a root, how a
// memslot update retires every root, and how the tables are freed
// (arch/x86/kvm/mmu/mmu.c kvm_mmu_load(), kvm_mmu_free_obsolete_roots(),
// kvm_mmu_zap_all_fast(); tdp_mmu.c kvm_tdp_mmu_alloc_root(),
// kvm_tdp_mmu_invalidate_all_roots(), kvm_tdp_mmu_zap_invalidated_roots(),
// tdp_mmu_zap_root(), handle_removed_pt(), kvm_tdp_mmu_put_root(); read in
// torvalds/linux through the search tool). Ordering contract:
//
//   Load (vcpu_enter_guest() -> kvm_mmu_reload() when root.hpa is
//   INVALID_PAGE, after the requests are serviced and before the mode
//   store):
//   L1. kvm_tdp_mmu_alloc_root() under read_lock(&kvm->mmu_lock): take a
//       reference on the valid root, or allocate one (refcount 2: the
//       vCPU's and the TDP MMU's own, held until the root is zapped).
//   L2. kvm_x86_call(flush_tlb_current)(vcpu): flush the guest TLB and
//       paging-structure-cache entries tagged with the new root. "Flushing
//       on alloc also allows KVM to skip the TLB flush when freeing a root
//       (see kvm_tdp_mmu_put_root())" ("KVM: x86/mmu: Formalize TDP MMU's
//       (unintended?) deferred TLB flush logic", Sean Christopherson,
//       2022-02-26): entries tagged with a freed root's frame are never
//       flushed, and a root that gets that frame again would use them.
//       Guarded by no-freed-table-reachable (guest PSC) and secondary-subset
//       (guest TLB).
//
//   Retire (kvm_mmu_zap_all_fast(), from a memslot deletion,
//   paths/kvm_set_memslot.ts 3):
//   R1. write_lock(&kvm->mmu_lock); kvm_tdp_mmu_invalidate_all_roots():
//       every valid root becomes invalid and scheduled to zap. No fault
//       installs an SPTE in it from here (is_page_fault_stale() checks
//       is_obsolete_sp()).
//   R2. In the same critical section, kvm_make_all_cpus_request(kvm,
//       KVM_REQ_MMU_FREE_OBSOLETE_ROOTS), which kicks the vCPUs in guest
//       mode and waits for them (KVM_REQUEST_WAIT, paths/kvm_flush.ts):
//       when mmu_lock is dropped no vCPU runs guest code on an invalid
//       root, and none enters on one ("This function depends on running
//       in the same MMU lock critical section as kvm_reload_remote_mmus",
//       1336c692abad). That is why zapping an invalid root needs no flush,
//       here or in the MMU notifier (kvm/invalidate.ts).
//   R3. write_unlock; kvm_tdp_mmu_zap_invalidated_roots() under read_lock:
//       tdp_mmu_zap_root() clears the SPTEs under rcu_read_lock(); the
//       page table leaves the root and handle_removed_pt() queues it with
//       call_rcu(tdp_mmu_free_sp_rcu_callback); then kvm_tdp_mmu_put_root()
//       drops the TDP MMU's reference ("The referenced needs to be put
//       *after* zapping the root, as the root must be reachable by
//       mmu_notifiers while it's being zapped").
//   R4. kvm_mmu_free_obsolete_roots(), when a vCPU services the request:
//       it puts its reference and root.hpa becomes INVALID_PAGE; the next
//       entry loads a new root (L1, L2).
//   The last kvm_tdp_mmu_put_root() takes the root off tdp_mmu_roots
//   (list_del_rcu()) and queues its frame with call_rcu(); the rcu actor
//   frees queued tables after a grace period (paths/rcu.ts). A vCPU in
//   guest mode is no RCU reader (guest_context_enter_irqoff(): "treat guest
//   mode as quiescent state"): the grace period protects KVM's software
//   walkers, the request and the flush on load protect the CPU's.

import { allocFrame } from '../frames.js';
import { kvmMmuLock, lock, unlock } from '../locks.js';
import { rootOf, type TdpRoot, type Vcpu, type Vm } from '../kvm/state.js';
import { callRcu } from './rcu.js';
import type { KernelState } from '../state.js';
import type { Pfn } from '../types.js';
import { step, type K, type StepDef } from '../step.js';

export interface KvmRootCtx {
  vm: string;
}

const vmOf = (k: K, c: { vm: string }): Vm => k.s.kvm!.vms[c.vm]!;

/** A TDP table page (root or page table) in a frame of its own: a zeroed page from the vCPU's mmu_shadow_page_cache. */
export function allocTdpTable(s: KernelState, vm: string, what: 'root' | 'pt'): { pfn: Pfn; ghost: number } {
  const f = allocFrame(s, `tdp:${vm}:${what}`);
  f.state = 'pagetable';
  f.level = what === 'root' ? 4 : 1;
  f.entries = [];
  return { pfn: f.pfn, ghost: f.allocId };
}

/** handle_removed_pt() of the root's page table: it leaves the root and is queued for freeing. */
function handleRemovedPt(s: KernelState, r: TdpRoot): void {
  if (!r.pt) return;
  callRcu(s, [r.pt.pfn]);
  r.pt = null;
}

/** kvm_tdp_mmu_put_root(): drop a reference; the last one takes the root off tdp_mmu_roots and queues its frame. */
export function kvmTdpMmuPutRoot(s: KernelState, vm: Vm, r: TdpRoot): void {
  if (--r.refs > 0) return;
  handleRemovedPt(s, r); // a root zapped already has none; one put by mmu_notifier_release()'s zap-all neither
  vm.roots = vm.roots!.filter((x) => x !== r);
  callRcu(s, [r.pfn]);
}

/** tdp_mmu_zap_root(): every SPTE of the root goes, and its page table with them. */
export function tdpMmuZapRoot(s: KernelState, vm: Vm, r: TdpRoot): void {
  if (r.invalid) delete r.sptes;
  else vm.sptes = {};
  handleRemovedPt(s, r);
}

/** The vCPU's loaded root, if it is still a root of the VM. */
export const loadedRoot = (vm: Vm, v: Vcpu): TdpRoot | undefined => rootOf(vm, v.root);

/** vcpu_enter_guest()'s kvm_check_request(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS) -> kvm_mmu_free_obsolete_roots(): R4. */
export function kvmMmuFreeObsoleteRoots(s: KernelState, vm: Vm, v: Vcpu): boolean {
  const r = loadedRoot(vm, v);
  if (!v.root || (r && !r.invalid)) return false;
  if (r) kvmTdpMmuPutRoot(s, vm, r);
  delete v.root; // root.hpa = INVALID_PAGE
  return true;
}

/** kvm_mmu_load(), from kvm_mmu_reload() when root.hpa is INVALID_PAGE: L1 and L2 (the vCPU is k.self). */
export const kvmMmuLoad: StepDef<KvmRootCtx>[] = [
  step('kvm_tdp_mmu_alloc_root.read_lock', function* (k, c) {
    yield* lock(k, kvmMmuLock(c.vm), 'r', 'kvm_tdp_mmu_alloc_root.read_lock');
  }),
  step('kvm_tdp_mmu_alloc_root', function* (k, c) {
    const vm = vmOf(k, c);
    const v = k.s.kvm!.vcpus[k.self]!;
    let r: TdpRoot | undefined = vm.roots?.find((x) => !x.invalid);
    if (r) r.refs++;
    else {
      r = { ...allocTdpTable(k.s, c.vm, 'root'), pt: null, refs: 2 };
      (vm.roots ??= []).push(r); // list_add_rcu(&root->link, &kvm->arch.tdp_mmu_roots)
    }
    v.root = { pfn: r.pfn, ghost: r.ghost }; // mmu->root.hpa = __pa(root->spt)
    v.loadFlushPending = true;
    yield { id: 'kvm_tdp_mmu_alloc_root' };
  }),
  step('kvm_tdp_mmu_alloc_root.read_unlock', function* (k, c) {
    yield* unlock(k, kvmMmuLock(c.vm), 'kvm_tdp_mmu_alloc_root.read_unlock');
  }),
  step('kvm_mmu_load.flush_tlb_current', function* (k) {
    const kvm = k.s.kvm!;
    const v = kvm.vcpus[k.self]!;
    delete v.loadFlushPending;
    if (!k.decide('kvm_mmu_load.flush_tlb_current', true, { vcpu: k.self, root: v.root!.pfn })) return;
    // vmx_flush_tlb_current(): INVEPT single-context for the EPTP of the new root
    const mine = (e: { vcpu: string; root: number }) => e.vcpu === k.self && e.root === v.root!.pfn;
    kvm.guestTlb[v.cpu] = (kvm.guestTlb[v.cpu] ?? []).filter((e) => !mine(e));
    if (kvm.guestPsc?.[v.cpu]) kvm.guestPsc[v.cpu] = kvm.guestPsc[v.cpu]!.filter((e) => !mine(e));
    yield { id: 'kvm_mmu_load.flush_tlb_current' };
  }),
];

/** kvm_mmu_zap_all_fast() with the TDP MMU, under slots_lock: R1-R3. */
export const kvmMmuZapAllFast: StepDef<KvmRootCtx>[] = [
  step('kvm_mmu_zap_all_fast.write_lock', function* (k, c) {
    yield* lock(k, kvmMmuLock(c.vm), 'w', 'kvm_mmu_zap_all_fast.kvm_mmu_lock');
  }),
  step('kvm_tdp_mmu_invalidate_all_roots', function* (k, c) {
    const vm = vmOf(k, c);
    for (const r of vm.roots ?? []) {
      if (r.invalid) continue;
      r.invalid = true; // root->role.invalid = true
      r.toZap = true; // root->tdp_mmu_scheduled_root_to_zap = true
      r.sptes = vm.sptes; // the SPTEs stay in the root's tables until R3
      vm.sptes = {};
    }
    yield { id: 'kvm_tdp_mmu_invalidate_all_roots' };
  }),
  step('kvm_mmu_zap_all_fast.kvm_make_all_cpus_request', function* (k, c) {
    // kvm_make_all_cpus_request(): the steps of kvm_flush_remote_tlbs() with another request (paths/kvm_flush.ts)
    yield* k.run('kvm_flush_remote_tlbs', { vm: c.vm, req: 'KVM_REQ_MMU_FREE_OBSOLETE_ROOTS' });
  }),
  step('kvm_mmu_zap_all_fast.write_unlock', function* (k, c) {
    yield* unlock(k, kvmMmuLock(c.vm), 'kvm_mmu_zap_all_fast.kvm_mmu_unlock');
  }),
  step('kvm_tdp_mmu_zap_invalidated_roots.read_lock', function* (k, c) {
    yield* lock(k, kvmMmuLock(c.vm), 'r', 'kvm_tdp_mmu_zap_invalidated_roots.read_lock');
  }),
  step('kvm_tdp_mmu_zap_invalidated_roots', function* (k, c) {
    const vm = vmOf(k, c);
    for (const r of [...(vm.roots ?? [])]) {
      if (!r.toZap) continue;
      delete r.toZap;
      tdpMmuZapRoot(k.s, vm, r);
      yield { id: 'tdp_mmu_zap_root' };
      kvmTdpMmuPutRoot(k.s, vm, r);
      yield { id: 'kvm_tdp_mmu_put_root' };
    }
  }),
  step('kvm_tdp_mmu_zap_invalidated_roots.read_unlock', function* (k, c) {
    yield* unlock(k, kvmMmuLock(c.vm), 'kvm_tdp_mmu_zap_invalidated_roots.read_unlock');
  }),
];
