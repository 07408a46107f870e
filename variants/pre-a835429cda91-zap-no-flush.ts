// Mutant: invalidate_range_start zaps SPTEs but the remote TLB flush they
// need is lost, as when tdp_mmu_zap_gfn_range() yielded mmu_lock with a
// flush pending before a835429cda91 ("KVM: x86/mmu: Ensure TLBs are
// flushed when yielding during GFN range zap", Sean Christopherson, 2021).
// The model's zap does not yield; the mutant drops the flush_on_ret flush,
// which is what the lost pending flush amounted to: vCPUs keep the zapped
// translations in their guest TLBs after start returns and the page is freed.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pre-a835429cda91-zap-no-flush',
  description: 'kvm_handle_hva_range() drops the pending remote TLB flush after zapping SPTEs (the flush lost at a yield before a835429cda91)',
  edit: (v) =>
    v.replace('kvm_handle_hva_range.flush_on_ret', function* () {
      // no kvm_flush_remote_tlbs()
    }),
});
