// kvm_flush_remote_tlbs() (virt/kvm/kvm_main.c) on x86 without Hyper-V's
// enlightened flush: kvm_make_all_cpus_request(kvm, KVM_REQ_TLB_FLUSH).
// KVM_REQ_TLB_FLUSH is KVM_REQUEST_WAIT | KVM_REQUEST_NO_WAKEUP:
//
//   1. For each vCPU: kvm_make_request() sets the request bit
//      (kvm_make_vcpu_request(): set_bit, then smp_mb__after_atomic()).
//   2. Then kvm_request_needs_ipi(): a vCPU whose mode is IN_GUEST_MODE
//      gets a kick IPI (kvm_vcpu_exiting_guest_mode()); one outside guest
//      mode will see the bit in vcpu_enter_guest() before it enters
//      (paths/kvm_vcpu_run.ts 1 is the other half of this pairing).
//   3. smp_call_function_many(..., wait = true): wait until every kicked
//      vCPU has left guest mode and taken the IPI.
// When it returns, no vCPU runs guest code with a guest TLB older than
// the call (research/tlb-kvm.md I15). Guarded by no-freed-frame-reachable
// and read-value (a stale guest-TLB entry used after the page is freed).
// The same steps make kvm_mmu_zap_all_fast()'s
// KVM_REQ_MMU_FREE_OBSOLETE_ROOTS (also KVM_REQUEST_WAIT; ctx.req;
// paths/kvm_tdp_root.ts R2).

import { note } from '../locks.js';
import { step, type StepDef } from '../step.js';

export interface KvmFlushCtx {
  vm: string;
  /** The request; absent: KVM_REQ_TLB_FLUSH (kvm_flush_remote_tlbs()). */
  req?: 'KVM_REQ_TLB_FLUSH' | 'KVM_REQ_MMU_FREE_OBSOLETE_ROOTS';
  /** The vCPUs kicked in 2, whose acknowledgement 3 waits for. */
  kicked?: string[];
}

const vcpusOf = (s: { kvm?: { vcpus: Record<string, { vm: string }> } }, vm: string) => Object.keys(s.kvm!.vcpus).filter((n) => s.kvm!.vcpus[n]!.vm === vm).sort();

export const kvmFlushRemoteTlbs: StepDef<KvmFlushCtx>[] = [
  step('kvm_make_all_cpus_request.kvm_make_request', function* (k, c) {
    c.kicked = [];
    const req = c.req ?? 'KVM_REQ_TLB_FLUSH';
    for (const n of vcpusOf(k.s, c.vm)) {
      const v = k.s.kvm!.vcpus[n]!;
      if (!v.requests.includes(req)) v.requests.push(req);
      yield { id: 'kvm_make_all_cpus_request.kvm_make_request' };
    }
  }),
  step('kvm_make_all_cpus_request.kvm_request_needs_ipi', function* (k, c) {
    for (const n of vcpusOf(k.s, c.vm)) {
      const v = k.s.kvm!.vcpus[n]!;
      if (v.mode !== 'IN_GUEST_MODE') continue;
      v.kicked = true; // kvm_vcpu_exiting_guest_mode(); the IPI goes to v.cpu
      c.kicked!.push(n);
      yield { id: 'kvm_make_all_cpus_request.kick' };
    }
  }),
  step('kvm_make_all_cpus_request.wait', function* (k, c) {
    if (c.kicked!.length === 0) return;
    note(k, 'ipi-wait', null, 'kvm_make_all_cpus_request');
    const acked = () => c.kicked!.every((n) => !k.s.kvm!.vcpus[n]!.kicked);
    if (!acked()) yield { id: 'kvm_make_all_cpus_request.wait', wait: acked };
    yield { id: 'kvm_make_all_cpus_request.wait' };
  }),
];
