// Mutant: vcpu_enter_guest() checks vcpu->requests only before it sets
// IN_GUEST_MODE and not again after the barrier. The pairing it breaks is
// the one kvm_vcpu_exiting_guest_mode() documents ("We should set ->mode
// before checking ->requests", arch/x86/kvm/x86.c vcpu_enter_guest());
// EXITING_GUEST_MODE and that comment came with 6b7e2d099148 ("KVM: Add
// 'exiting guest mode' state", Xiao Guangrong, 2011). Whether a released
// kernel had exactly this race is not verified: label it a rule mutant.
// A flush request made between the check and the mode store sees the vCPU
// outside guest mode, sends no kick, and the vCPU enters on its old guest TLB.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'kvm-enter-no-request-recheck',
  description: 'vcpu_enter_guest() does not re-check requests after setting IN_GUEST_MODE',
  edit: (v) =>
    v.replace('vcpu_enter_guest.kvm_request_pending', function* (k, c: { vm: string }) {
      const v = k.s.kvm!.vcpus[k.self]!;
      if (!v.kicked) {
        v.inGuest = true; // VM-entry, whatever vcpu->requests holds now
        yield { id: 'vcpu_enter_guest.vmenter' };
        return;
      }
      v.mode = 'OUTSIDE_GUEST_MODE'; // only a kick (an IPI taken at entry) still exits
      v.inGuest = false;
      v.kicked = false;
      yield { id: 'vcpu_enter_guest.cancel_injection' };
      return yield* k.run('vcpu_enter_guest', c);
    }),
});
