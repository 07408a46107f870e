// Mutant: KVM_REQ_TLB_FLUSH without KVM_REQUEST_WAIT. Since 7a97cec26b94
// ("KVM: mark requests that need synchronization", Radim Krcmar, 2017)
// whether kvm_make_all_cpus_request() waits for the kicked vCPUs is a flag
// of the request; KVM_REQ_TLB_FLUSH carries KVM_REQUEST_WAIT. Not a
// historical bug (before 7a97cec26b94 every such request waited): the rule
// that flag states, broken. The flush returns while a kicked vCPU is still
// in guest mode on its old guest TLB, and the invalidation frees the page.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'kvm-tlb-flush-no-wait',
  description: 'kvm_make_all_cpus_request() kicks vCPUs in guest mode but does not wait for them (KVM_REQ_TLB_FLUSH without KVM_REQUEST_WAIT)',
  edit: (v) =>
    v.replace('kvm_make_all_cpus_request.wait', function* () {
      // smp_call_function_many(..., wait = false)
    }),
});
