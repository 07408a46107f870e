// One KVM_RUN of a vCPU: it makes the thread's consecutive guest accesses
// without leaving the guest between them (virt/kvm/kvm_main.c
// kvm_vcpu_ioctl(); arch/x86/kvm/x86.c, read at 0004c7c25757:
// __vcpu_run(), now vcpu_run(), loops `while (r > 0) r =
// vcpu_enter_guest(vcpu)`, where r is what kvm_x86_ops->handle_exit()
// made of the VM-exit - 1 when the kernel handled it, as an EPT violation
// or an external interrupt - and leaves the loop for userspace only on an
// exit the VMM must see, or -EINTR on signal_pending(); the accesses as
// the hardware performs them under EPT). An access that hits the guest
// TLB or walks a present SPTE causes no VM-exit: the vCPU stays
// IN_GUEST_MODE from one access to the next, so a flush meets it there.
//
//   1. vcpu_enter_guest(): service the pending requests first, in the
//      kernel's order (KVM_REQ_MMU_FREE_OBSOLETE_ROOTS ->
//      kvm_mmu_free_obsolete_roots(): an invalidated root is put; then
//      KVM_REQ_TLB_FLUSH -> kvm_vcpu_flush_tlb_all(): INVEPT, the vCPU's
//      guest TLB and PSC entries go); kvm_mmu_reload(): no root loaded,
//      kvm_mmu_load() (paths/kvm_tdp_root.ts); then `vcpu->mode = IN_GUEST_MODE` with
//      smp_store_release() and smp_mb__after_srcu_read_unlock(); then
//      re-check the requests (kvm_request_pending()) and cancel the entry
//      if any arrived: mode back to OUTSIDE_GUEST_MODE, go to 1. Paired
//      with kvm_make_all_cpus_request() (paths/kvm_flush.ts), which sets
//      the request bit before it reads the mode: either the requester sees
//      IN_GUEST_MODE and kicks, or the vCPU sees the request. Guarded by
//      no-freed-frame-reachable and secondary-subset (guest TLB).
//   2. Each guest access in turn: a guest-TLB hit with the needed
//      permission (an entry tagged with the loaded root), or a TDP walk of
//      the loaded root's SPTE that fills the guest TLB and caches the
//      root's entry for the page table in the guest PSC, one
//      step each, without leaving the guest. Before an access, a kick
//      pending makes the vCPU exit (external-interrupt VM-exit), ack it,
//      and go to 1 (vcpu_run() loops: the kick ends no KVM_RUN). Between
//      two accesses, a SIGKILL pending (a sibling's exit_group(): its
//      signal_wake_up() kicks the CPU too) makes it exit and end KVM_RUN
//      with -EINTR (kvm_handle_signal_exit()); the thread dies in user
//      mode (run/actors.ts).
//      Guarded by read-value (the access is checked against the ideal
//      memory at the hva the memslot maps).
//   3. No SPTE, or a write through a read-only one: EPT violation. The
//      entry for the gfn goes (as a #PF drops it), VM-exit, mode
//      OUTSIDE_GUEST_MODE, kvm_tdp_page_fault() (paths/kvm_mmu.ts), then
//      back to 1 and the same access again - whether the fault installed
//      the SPTE or asked for a retry (a retry inside an open invalidation
//      of the gfn waits for its end: the real vCPU spins). -EFAULT
//      (hva_to_pfn() failed) ends the KVM_RUN; the VMM makes the
//      accesses after the failed one in a new KVM_RUN (run/actors.ts).
//   4. After the last access the guest runs on for a step (a kick takes it
//      out), then the VM-exit that ends this KVM_RUN: mode
//      OUTSIDE_GUEST_MODE. The thread holds its CPU for the whole KVM_RUN.

import { step, STOP_STEP, type Gen, type K, type StepDef } from '../step.js';
import { kvmMmuLock } from '../locks.js';
import { faultMustRetry, gfnToGmem, gfnToHvaEver, sptesOf, type GuestTlbEntry, type Vcpu } from '../kvm/state.js';
import { kvmMmuFreeObsoleteRoots, loadedRoot } from './kvm_tdp_root.js';
import type { MmId } from '../types.js';
import type { KvmFaultCtx } from './kvm_mmu.js';

/** One guest access of the KVM_RUN: a thread operation guest_read or guest_write. */
export interface GuestAccess {
  gfn: number;
  write: boolean;
  opId: string;
}

export interface KvmRunCtx {
  vm: string;
  mm: MmId;
  /** The thread's consecutive guest operations, made in this order inside one KVM_RUN. */
  accesses: GuestAccess[];
  /** Set by the run: how many of `accesses` it got through (made, or failed with -EFAULT); the VMM's next KVM_RUN starts after them. */
  done?: number;
}

/** kvm_vm_ioctl_create_vcpu() at the thread's first KVM_RUN: pinned to its CPU. */
export function vcpuOf(k: K, vm: string): Vcpu {
  const kvm = k.s.kvm!;
  return (kvm.vcpus[k.self] ??= { thread: k.self, vm, cpu: k.cpu, mode: 'OUTSIDE_GUEST_MODE', inGuest: false, requests: [], kicked: false });
}

/** The mode store of a VM-exit; the kick IPI is taken (and acknowledged) once interrupts are on again. */
function vmExit(v: Vcpu): void {
  v.mode = 'OUTSIDE_GUEST_MODE';
  v.inGuest = false;
  v.kicked = false;
}

const guestTlbOf = (k: K): GuestTlbEntry[] => (k.s.kvm!.guestTlb[k.cpu] ??= []);

export const vcpuEnterGuest: StepDef<KvmRunCtx>[] = [
  step('vcpu_enter_guest.kvm_check_request', function* (k, c) {
    const v = vcpuOf(k, c.vm);
    const obsolete = v.requests.includes('KVM_REQ_MMU_FREE_OBSOLETE_ROOTS');
    if (obsolete) {
      v.requests = v.requests.filter((r) => r !== 'KVM_REQ_MMU_FREE_OBSOLETE_ROOTS');
      kvmMmuFreeObsoleteRoots(k.s, k.s.kvm!.vms[c.vm]!, v); // paths/kvm_tdp_root.ts R4
      yield { id: 'kvm_mmu_free_obsolete_roots' };
    }
    if (v.requests.includes('KVM_REQ_TLB_FLUSH')) {
      v.requests = v.requests.filter((r) => r !== 'KVM_REQ_TLB_FLUSH');
      // kvm_vcpu_flush_tlb_all(): INVEPT all-context, the vCPU's entries of every root go
      k.s.kvm!.guestTlb[k.cpu] = guestTlbOf(k).filter((e) => e.vcpu !== k.self);
      const psc = k.s.kvm!.guestPsc?.[k.cpu];
      if (psc) k.s.kvm!.guestPsc![k.cpu] = psc.filter((e) => e.vcpu !== k.self);
      yield { id: 'kvm_vcpu_flush_tlb_all' };
    } else if (!obsolete) {
      yield { id: 'vcpu_enter_guest.kvm_check_request' }; // nothing pending: a request made from here on is seen only by the re-check
    }
  }),
  step('vcpu_enter_guest.kvm_mmu_reload', function* (k, c) {
    if (!vcpuOf(k, c.vm).root) yield* k.run('kvm_mmu_load', { vm: c.vm }); // root.hpa == INVALID_PAGE: paths/kvm_tdp_root.ts L1, L2
  }),
  step('vcpu_enter_guest.in_guest_mode', function* (k, c) {
    vcpuOf(k, c.vm).mode = 'IN_GUEST_MODE'; // smp_store_release(); smp_mb__after_srcu_read_unlock()
    yield { id: 'vcpu_enter_guest.in_guest_mode' };
  }),
  step('vcpu_enter_guest.kvm_request_pending', function* (k, c) {
    const v = vcpuOf(k, c.vm);
    if (v.requests.length === 0 && !v.kicked) {
      v.inGuest = true; // VM-entry
      yield { id: 'vcpu_enter_guest.vmenter' };
      return;
    }
    vmExit(v); // cancel_injection: the entry is abandoned, the loop services the request
    yield { id: 'vcpu_enter_guest.cancel_injection' };
    return yield* k.run('vcpu_enter_guest', c);
  }),
];

function* access(k: K, vm: string, a: GuestAccess, mm: MmId, e: { pfn: number }, id: string, hva: number): Gen {
  const f = k.s.frames[e.pfn]!;
  if (a.write) f.content = k.nextValue();
  // a guest_memfd-backed gfn is checked against the file's page, not the VMM's mapping at the hva
  const gmem = gfnToGmem(k.s.kvm!.vms[vm]!, a.gfn);
  yield { id, obs: { kind: 'access', opId: a.opId, mm, vpn: hva, write: a.write, value: f.content, ok: true, guest: gmem ? { vm, gfn: a.gfn, gmem } : { vm, gfn: a.gfn } } };
}

/**
 * Guest access `i` of the KVM_RUN, from inside the guest: 'made', or how the KVM_RUN ended (-EFAULT or
 * -EINTR) instead.
 */
function* guestAccess(k: K, c: KvmRunCtx, i: number): Gen<'made' | 'efault' | 'eintr' | 'mmio'> {
  const a = c.accesses[i]!;
  const vm = k.s.kvm!.vms[c.vm]!;
  // where the ideal memory checks the access: the hva of the memslot that holds the gfn, or held it
  // (an entry that outlived a memslot deletion is secondary-subset's to report)
  const hva = gfnToHvaEver(vm, a.gfn)!;
  if (i > 0 && k.s.mms[c.mm]!.exiting) {
    // between two accesses, a SIGKILL from a sibling's exit_group(): signal_wake_up() kicks the CPU
    // out of the guest, and vcpu_run() -> kvm_xfer_to_guest_mode_handle_work() returns -EINTR
    vmExit(vcpuOf(k, c.vm));
    yield { id: 'kvm_handle_signal_exit', final: true };
    return 'eintr';
  }
  for (;;) {
    const v = vcpuOf(k, c.vm);
    if (v.kicked) {
      vmExit(v); // EXIT_REASON_EXTERNAL_INTERRUPT: the kick IPI is handled and acknowledged
      yield { id: 'vmx_vcpu_run.kick_exit' };
      yield* k.run('vcpu_enter_guest', c); // vcpu_run() loops: the exit is handled in the kernel
      continue;
    }
    const tlb = guestTlbOf(k);
    const hit = tlb.find((e) => e.vcpu === k.self && e.root === v.root!.pfn && e.gfn === a.gfn);
    if (hit && (!a.write || hit.writable)) {
      yield* access(k, c.vm, a, c.mm, hit, 'guest_access.tlb_hit', hva);
      return 'made';
    }
    // the walk from the loaded root (an invalidated one too, until the kick takes the vCPU out)
    const root = loadedRoot(vm, v);
    const spte = root ? sptesOf(vm, root)[a.gfn] : undefined;
    if (spte && (!a.write || spte.writable)) {
      k.s.kvm!.guestTlb[k.cpu] = tlb.filter((e) => !(e.vcpu === k.self && e.root === v.root!.pfn && e.gfn === a.gfn));
      k.s.kvm!.guestTlb[k.cpu]!.push({ vcpu: k.self, root: v.root!.pfn, gfn: a.gfn, pfn: spte.pfn, writable: spte.writable, ghost: spte.ghost });
      // the walk caches the root's entry for the page table (paging-structure cache, tagged by EP4TA)
      const psc = ((k.s.kvm!.guestPsc ??= {})[k.cpu] ??= []);
      if (root!.pt && !psc.some((e) => e.vcpu === k.self && e.root === root!.pfn)) psc.push({ vcpu: k.self, root: root!.pfn, pfn: root!.pt.pfn, ghost: root!.pt.ghost });
      yield* access(k, c.vm, a, c.mm, spte, 'guest_access.tdp_walk', hva);
      return 'made';
    }
    // EPT violation: the faulting translation is not cached (as SDM 4.10.4.1 for #PF), VM-exit
    k.s.kvm!.guestTlb[k.cpu] = tlb.filter((e) => !(e.vcpu === k.self && e.root === v.root!.pfn && e.gfn === a.gfn));
    vmExit(v);
    yield { id: 'guest_access.ept_violation' };
    const f: KvmFaultCtx = { vm: c.vm, mm: c.mm, gfn: a.gfn, write: a.write, opId: a.opId };
    yield* k.run('kvm_tdp_page_fault', f);
    if (f.result === 'mmio') {
      // no memslot holds the gfn (deleted, paths/kvm_set_memslot.ts): KVM_EXIT_MMIO to the VMM, which the
      // model does not emulate; like -EFAULT, the VMM's next KVM_RUN makes the accesses after this one
      c.done = i + 1;
      yield { id: 'kvm_vcpu_run.mmio_exit', final: true };
      return 'mmio';
    }
    if (f.result === 'retry' && f.slotInvalid) {
      // RET_PF_RETRY on a memslot being deleted: the vCPU re-enters and faults again until the delete
      // is done and the gfn has no memslot; the model waits for that instead of spinning
      const m = f.slotInvalid;
      yield { id: 'kvm_vcpu_run.retry', wait: () => m.deleted === true || m.invalid !== true || vm.released };
      yield { id: 'kvm_vcpu_run.retry' };
      yield* k.run('vcpu_enter_guest', c);
      continue;
    }
    if (f.result === 'efault') {
      c.done = i + 1; // set before the last step: the thread does not resume the path after it
      yield { id: 'kvm_vcpu_run.efault', final: true }; // -EFAULT to the VMM (observed where GUP's fault decided it)
      return 'efault';
    }
    // RET_PF_RETRY: the vCPU re-enters and faults again until the invalidation ends; the spinning
    // changes nothing another actor sees, so the model waits for its end instead (d02c357e5bfa
    // makes the real loop skip the fault-in in this case too). An invalidation without a range
    // retries every gfn (faultMustRetry()), but while a writer holds mmu_lock between its begin and
    // its range_add the next fault would block on the lock, not spin: only a range still missing
    // once mmu_lock is free (a mutant's) leaves the vCPU waiting for good, and progress reports it
    const spins = () => faultMustRetry(vm, a.gfn) && !(vm.mmuInvalidateRange === null && k.s.locks[kvmMmuLock(c.vm)]?.mode === 'w');
    if (f.result === 'retry' && spins()) {
      yield { id: 'kvm_vcpu_run.retry', wait: () => !spins() || vm.released };
      yield { id: 'kvm_vcpu_run.retry' };
    }
    yield* k.run('vcpu_enter_guest', c);
  }
}

export const kvmVcpuRun: StepDef<KvmRunCtx>[] = [
  step('kvm_vcpu_run.vcpu_enter_guest', function* (k, c) {
    yield* k.run('vcpu_enter_guest', c);
  }),
  step('guest_access', function* (k, c) {
    c.done = 0;
    for (let i = 0; i < c.accesses.length; i++) {
      if ((yield* guestAccess(k, c, i)) !== 'made') return STOP_STEP; // KVM_RUN ended (its last step was final: run/actors.ts untilReturnToUser)
      c.done = i + 1;
    }
  }),
  // the guest runs on after its last access (one step, in which a kick can take it out) before the exit that ends KVM_RUN
  step('vmx_vcpu_run.guest_runs', function* (k, c) {
    const v = vcpuOf(k, c.vm);
    if (v.kicked) {
      vmExit(v);
      yield { id: 'vmx_vcpu_run.kick_exit' };
      return;
    }
    yield { id: 'vmx_vcpu_run.guest_runs' };
  }),
  step('kvm_vcpu_run.vmexit', function* (k, c) {
    vmExit(vcpuOf(k, c.vm));
    yield { id: 'kvm_vcpu_run.vmexit', final: true };
  }),
];
