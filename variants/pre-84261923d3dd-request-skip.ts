// Mutant: make_all_cpus_request() as before 84261923d3dd ("KVM: protect
// concurrent make_all_cpus_request", Marcelo Tosatti, 2009-06-17, merged
// for v2.6.31; verified on git.zx2c4.com/linux-dev). Its loop was
// `if (test_and_set_bit(req, &vcpu->requests)) continue;`: a vCPU whose
// request bit was already set got no IPI and was not waited for. The
// fix's message: "make_all_cpus_request contains a race condition which
// can trigger false request completed status": CPU0 sets the bit and
// heads for smp_call_function_many(wait=1); CPU1 finds it set, skips the
// vCPU and returns while that vCPU still runs the guest on its old TLB.
// The fix serialized requesters with kvm->requests_lock (later kernels
// set the bit unconditionally and decide the IPI from vcpu->mode).
//
// Two kvm_flush_remote_tlbs() of one VM run at once only when a caller
// flushes outside mmu_lock: in 2009 the MMU notifier did (its flush
// followed spin_unlock until 565f3be21746, 2012), and in the model, whose
// callers all flush under mmu_lock, nothing else does. So this mutant
// also carries the 2009 order of variants/pre-565f3be21746-flush-after-
// unlock.ts; test/kvm.test.ts shows a scenario that that order alone
// survives and this mutant does not. Functions: kvm_make_all_cpus_request()
// (virt/kvm/kvm_main.c; make_all_cpus_request() then) and
// kvm_handle_hva_range().
import type { KvmFlushCtx } from '../model/kernel/paths/kvm_flush.js';
import { defineVariant } from '../model/policies/variant.js';

type Ctx = KvmFlushCtx & { fresh?: string[] };
const vcpusOf = (s: { kvm?: { vcpus: Record<string, { vm: string }> } }, vm: string) => Object.keys(s.kvm!.vcpus).filter((n) => s.kvm!.vcpus[n]!.vm === vm).sort();

export default defineVariant({
  name: 'pre-84261923d3dd-request-skip',
  description: 'make_all_cpus_request() skips (neither kicks nor waits for) a vCPU whose KVM_REQ_TLB_FLUSH bit is already set, with the notifier flushing after mmu_lock (2009)',
  edit: (v) =>
    v
      .replace('kvm_make_all_cpus_request.kvm_make_request', function* (k, c: Ctx) {
        c.kicked = [];
        c.fresh = [];
        for (const n of vcpusOf(k.s, c.vm)) {
          const vc = k.s.kvm!.vcpus[n]!;
          if (vc.requests.includes('KVM_REQ_TLB_FLUSH')) continue; // test_and_set_bit() found it set: skip the vCPU
          vc.requests.push('KVM_REQ_TLB_FLUSH');
          c.fresh.push(n);
          yield { id: 'kvm_make_all_cpus_request.kvm_make_request' };
        }
      })
      .replace('kvm_make_all_cpus_request.kvm_request_needs_ipi', function* (k, c: Ctx) {
        for (const n of c.fresh!) {
          const vc = k.s.kvm!.vcpus[n]!;
          if (vc.mode !== 'IN_GUEST_MODE') continue;
          vc.kicked = true;
          c.kicked!.push(n);
          yield { id: 'kvm_make_all_cpus_request.kick' };
        }
      })
      .move('kvm_handle_hva_range.flush_on_ret', { after: 'kvm_handle_hva_range.kvm_mmu_unlock' }),
});
