// Mutant: kvm_mmu_notifier_invalidate_range_start() zaps the SPTEs under
// mmu_lock but flushes the remote TLBs only after dropping it, as KVM did
// before 565f3be21746 ("KVM: mmu_notifier: Flush TLBs before releasing
// mmu_lock", Takuya Yoshikawa, 2012-02-10, merged for v3.4; commit page
// read on git.zx2c4.com/linux-dev: virt/kvm/kvm_main.c, 10 insertions, 9
// deletions; the hunk read moves kvm_mmu_notifier_invalidate_page()'s
// flush before spin_unlock, the rest of the diff was not shown. The
// range_start of a 2.6.27-era kvm_main.c read through the search tool is
// `spin_lock; mmu_notifier_count++; kvm_unmap_hva() ...; spin_unlock;
// if (need_tlb_flush) kvm_flush_remote_tlbs(kvm)`, and 4.x kernels flush
// before spin_unlock there too). The fix's message:
// "Other threads may process the same page in that small window and skip
// TLB flush and then return before these functions do flush." In the
// model: a second invalidation of the same page (another madvise) takes
// mmu_lock in the window, finds the SPTE already zapped, so flushes
// nothing, and frees the page while a vCPU's guest TLB still maps it and
// no KVM_REQ_TLB_FLUSH is pending for it yet.
// Today's function: kvm_handle_hva_range() (virt/kvm/kvm_main.c), which
// calls kvm_flush_remote_tlbs() when flush_on_ret before KVM_MMU_UNLOCK.
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'pre-565f3be21746-flush-after-unlock',
  description: 'kvm_handle_hva_range() drops mmu_lock before the remote TLB flush of the SPTEs it zapped (before 565f3be21746)',
  edit: (v) => v.move('kvm_handle_hva_range.flush_on_ret', { after: 'kvm_handle_hva_range.kvm_mmu_unlock' }),
});
