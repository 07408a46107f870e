// Rule mutant (no fix commit: kvm_gmem_punch_hole() invalidates before it
// truncates in the code merged by a7800aa80ea4, "KVM: Add
// KVM_CREATE_GUEST_MEMFD ioctl() for guest-specific backing memory", Sean
// Christopherson, 2023-11-13, as in today's; the history in between was
// not read commit by commit). kvm_gmem_punch_hole() (virt/kvm/guest_memfd.c) runs
// truncate_inode_pages_range() before kvm_gmem_invalidate_begin(): the
// folios leave the page cache and, with no other reference, are freed
// while an SPTE still maps them - an SPTE holds no reference on its page
// (acb66dd051d0), so only the zap before the truncate keeps the guest off
// a freed page. Expected: no-freed-frame-reachable (holder SPTE) at
// truncate_inode_pages_range.filemap_remove_folio
// (test/scenarios/gmem-punch-hole-racing-guest.txt, test/kvm_gmem.test.ts).
import { defineVariant } from '../model/policies/variant.js';

export default defineVariant({
  name: 'gmem-truncate-before-invalidate',
  description: 'kvm_gmem_punch_hole() truncates the page cache before kvm_gmem_invalidate_begin() zaps the SPTEs (rule mutant)',
  edit: (v) => v.move('truncate_inode_pages_range', { before: 'kvm_gmem_invalidate_begin' }),
});
